using PeerRelay.Server.Authentication.Internal;

namespace PeerRelay.Server.Authentication;

/// <summary>
/// Settings of <see cref="JwtAuthenticator"/>, the <c>[auth] method = "jwt"</c> of the configuration file; the
/// <c>[auth.kwargs]</c> key of each property is named in its summary. Set exactly one of <see cref="JwksUrl"/> and
/// <see cref="Authority"/>. See <c>docs/security.md</c>.
/// </summary>
public sealed class JwtAuthOptions
{
    /// <summary>The signature algorithms accepted by default: RSA (PKCS#1 and PSS) and ECDSA, never HMAC or none.</summary>
    public static readonly IReadOnlyList<string> DefaultAlgorithms =
        ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    /// <summary>
    /// Gets or sets the issuer a token's <c>iss</c> must equal (<c>issuer</c>). Required with <see cref="JwksUrl"/>;
    /// with <see cref="Authority"/> it defaults to the <c>issuer</c> of the discovery document.
    /// </summary>
    public string? Issuer { get; set; }

    /// <summary>
    /// Gets the audiences of which a token's <c>aud</c> must contain at least one (<c>audience</c>, a string or a list).
    /// Required.
    /// </summary>
    public IList<string> Audiences { get; } = [];

    /// <summary>
    /// Gets or sets the URL of the JSON Web Key Set holding the signing keys (<c>jwks_url</c>). Must be https,
    /// except on a loopback address.
    /// </summary>
    public Uri? JwksUrl { get; set; }

    /// <summary>
    /// Gets or sets the OpenID Connect issuer whose <c>/.well-known/openid-configuration</c> names the key set
    /// (<c>authority</c>). Must be https, except on a loopback address.
    /// </summary>
    public Uri? Authority { get; set; }

    /// <summary>Gets or sets the claim that names the user (<c>user_claim</c>). Default <c>sub</c>.</summary>
    public string UserClaim { get; set; } = "sub";

    /// <summary>
    /// Gets the signature algorithms a token may use (<c>algorithms</c>). Default <see cref="DefaultAlgorithms"/>.
    /// </summary>
    public IList<string> Algorithms { get; } = [.. DefaultAlgorithms];

    /// <summary>
    /// Gets or sets how far clocks may disagree when checking <c>exp</c> and <c>nbf</c> (<c>clock_skew</c>, seconds).
    /// Default 60 s.
    /// </summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gets or sets how often the keys are fetched again (<c>jwks_refresh_interval</c>, seconds). Default 1 h. A token
    /// signed with an unknown key also triggers a fetch, at most once every 30 s.
    /// </summary>
    public TimeSpan KeyRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Gets or sets how long fetching the keys or the discovery document may take (<c>timeout</c>, seconds). Default 10 s.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks every value and returns the problems found, as "key: problem" lines.</summary>
    /// <returns>An empty list when the options are valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (JwksUrl is null == Authority is null)
        {
            problems.Add("auth.kwargs: set exactly one of jwks_url (the key set's URL) and authority (the OpenID Connect issuer, for discovery)");
        }

        Endpoints.Check("auth.kwargs.jwks_url", JwksUrl, problems);
        Endpoints.Check("auth.kwargs.authority", Authority, problems);
        if (JwksUrl is not null && string.IsNullOrWhiteSpace(Issuer))
        {
            problems.Add("auth.kwargs.issuer: required with jwks_url; use the exact 'iss' value of your provider's tokens");
        }

        if (Issuer is not null && Issuer.Trim().Length == 0)
        {
            problems.Add("auth.kwargs.issuer: empty");
        }

        if (Audiences.Count == 0 || Audiences.Any(string.IsNullOrWhiteSpace))
        {
            problems.Add("auth.kwargs.audience: required, and no entry may be empty; use the 'aud' value your provider puts in tokens for the relay");
        }

        if (string.IsNullOrWhiteSpace(UserClaim))
        {
            problems.Add("auth.kwargs.user_claim: empty; use the claim that names the user, e.g. sub");
        }

        if (Algorithms.Count == 0)
        {
            problems.Add($"auth.kwargs.algorithms: empty; use some of {string.Join(", ", DefaultAlgorithms)}");
        }

        foreach (var algorithm in Algorithms)
        {
            if (!DefaultAlgorithms.Contains(algorithm))
            {
                problems.Add($"auth.kwargs.algorithms: '{algorithm}' is not supported; use some of {string.Join(", ", DefaultAlgorithms)}");
            }
        }

        if (ClockSkew < TimeSpan.Zero)
        {
            problems.Add($"auth.kwargs.clock_skew: {ClockSkew.TotalSeconds} is not allowed; use zero or more seconds");
        }

        if (KeyRefreshInterval < TimeSpan.FromSeconds(1))
        {
            problems.Add($"auth.kwargs.jwks_refresh_interval: {KeyRefreshInterval.TotalSeconds} is not allowed; use 1 or more seconds");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            problems.Add($"auth.kwargs.timeout: {Timeout.TotalSeconds} is not allowed; use more than zero seconds");
        }

        return problems;
    }
}
