using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication.Internal;

namespace PeerRelay.Server.Authentication;

/// <summary>
/// JWT / OpenID Connect (<c>[auth] method = "jwt"</c>): validates each client's bearer token locally — signature
/// against the provider's published keys, issuer, audience, lifetime — and names the user by
/// <see cref="JwtAuthOptions.UserClaim"/>. Keys come from <see cref="JwtAuthOptions.JwksUrl"/> or OpenID Connect
/// discovery at <see cref="JwtAuthOptions.Authority"/>, and are refreshed periodically and when a token names an
/// unknown key. No token or a token that is not a JWT: 4001. A token that fails a check: 4002, with a reason saying
/// which. Keys that cannot be fetched: 1013.
/// </summary>
public sealed partial class JwtAuthenticator : IRelayAuthenticator
{
    /// <summary>The name of the <see cref="HttpClient"/> this authenticator asks <see cref="IHttpClientFactory"/> for.</summary>
    public const string HttpClientName = "PeerRelay.Jwks";

    private const string Method = "jwt";

    private static readonly RelayAuthResult AlgorithmNotAllowed = RelayAuthResult.Forbidden("Token signature algorithm is not allowed.");

    private readonly JwtAuthOptions _options;
    private readonly ConfigurationManager<OpenIdConnectConfiguration> _configuration;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly AuthenticationMetrics _metrics;
    private readonly ILogger<JwtAuthenticator> _logger;
    private readonly string _source;
    private readonly RelayAuthResult _wrongAudience;
    private readonly RelayAuthResult _noUser;

    internal JwtAuthenticator(
        IOptions<JwtAuthOptions> options,
        IHttpClientFactory httpClientFactory,
        AuthenticationMetrics metrics,
        ILogger<JwtAuthenticator> logger)
    {
        _options = options.Value;
        _metrics = metrics;
        _logger = logger;
        var retriever = new FactoryDocumentRetriever(httpClientFactory, HttpClientName, _options.Timeout);
        if (_options.Authority is { } authority)
        {
            _source = authority.AbsoluteUri.TrimEnd('/') + "/.well-known/openid-configuration";
            _configuration = new ConfigurationManager<OpenIdConnectConfiguration>(_source, new OpenIdConnectConfigurationRetriever(), retriever);
        }
        else
        {
            _source = _options.JwksUrl!.AbsoluteUri;
            _configuration = new ConfigurationManager<OpenIdConnectConfiguration>(_source, new JwksRetriever(), retriever);
        }

        _configuration.AutomaticRefreshInterval = _options.KeyRefreshInterval;
        _configuration.RefreshInterval = TimeSpan.FromSeconds(30);
        _wrongAudience = RelayAuthResult.Forbidden(Fit($"Token audience does not include \"{string.Join("\", \"", _options.Audiences)}\"."));
        _noUser = RelayAuthResult.Forbidden(Fit($"Token has no '{_options.UserClaim}' claim naming the user."));
    }

    /// <inheritdoc />
    /// <value>Always true: the signature is checked in memory and the key set is fetched asynchronously.</value>
    public bool RunsInline => true;

    /// <inheritdoc />
    public async ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handshake);
        if (!handshake.TryGetBearerToken(out var token, out var problem))
        {
            return RelayAuthResult.Unauthorized(problem);
        }

        if (!_handler.CanReadToken(token))
        {
            return RelayAuthResult.Unauthorized("Bearer token is not a well-formed JWT.");
        }

        // Checked up front: IdentityModel reports a refused algorithm as a failed signature, and the reason should
        // say which check failed. This also refuses "none" and HMAC (keyed with a public key: a classic forgery).
        try
        {
            if (!_options.Algorithms.Contains(_handler.ReadJsonWebToken(token).Alg))
            {
                return AlgorithmNotAllowed;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenMalformedException)
        {
            return RelayAuthResult.Unauthorized("Bearer token is not a well-formed JWT.");
        }

        var result = await ValidateAsync(token, refresh: false, cancellationToken);
        if (result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // The provider may have rotated its keys since the last fetch: fetch again (rate-limited) and retry once.
            _configuration.RequestRefresh();
            result = await ValidateAsync(token, refresh: true, cancellationToken);
        }

        return result.Outcome;
    }

    private static string Fit(string why) =>
        RelayCloseCodes.FitReason(RelayCloseCodes.ForbiddenPrefix + why)[RelayCloseCodes.ForbiddenPrefix.Length..];

    private async Task<(RelayAuthResult Outcome, Exception? Exception)> ValidateAsync(string token, bool refresh, CancellationToken cancellationToken)
    {
        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await _configuration.GetConfigurationAsync(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            _metrics.Unavailable(Method, "keys");
            Log.KeysUnavailable(_logger, _source, Describe(ex));
            return (RelayAuthResult.Unavailable("The relay cannot fetch the token signing keys; try again later."), null);
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer ?? configuration.Issuer,
            ValidAudiences = _options.Audiences,
            IssuerSigningKeys = configuration.SigningKeys,
            ValidAlgorithms = _options.Algorithms,
            ClockSkew = _options.ClockSkew,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
        };
        var result = await _handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid)
        {
            if (refresh || result.Exception is not SecurityTokenSignatureKeyNotFoundException)
            {
                Log.Rejected(_logger, result.Exception?.GetType().Name ?? "unknown");
            }

            return (Reject(result.Exception), result.Exception);
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        if (!jwt.TryGetPayloadValue<string>(_options.UserClaim, out var user) || string.IsNullOrEmpty(user))
        {
            return (_noUser, null);
        }

        return (RelayAuthResult.Success(new RelayUser(user)), null);
    }

    /// <summary>Says which check failed, never quoting the token.</summary>
    private RelayAuthResult Reject(Exception? exception) => exception switch
    {
        SecurityTokenMalformedException => RelayAuthResult.Unauthorized("Bearer token is not a well-formed JWT."),
        SecurityTokenExpiredException => RelayAuthResult.Forbidden("Token has expired."),
        SecurityTokenNotYetValidException => RelayAuthResult.Forbidden("Token is not valid yet (nbf is in the future)."),
        SecurityTokenNoExpirationException => RelayAuthResult.Forbidden("Token has no expiry (exp)."),
        SecurityTokenInvalidLifetimeException => RelayAuthResult.Forbidden("Token lifetime is invalid."),
        SecurityTokenInvalidIssuerException => RelayAuthResult.Forbidden("Token issuer is not the configured issuer."),
        SecurityTokenInvalidAudienceException => _wrongAudience,
        SecurityTokenInvalidAlgorithmException => AlgorithmNotAllowed,
        SecurityTokenSignatureKeyNotFoundException => RelayAuthResult.Forbidden("Token signature is invalid: no published key matches."),
        SecurityTokenInvalidSignatureException => RelayAuthResult.Forbidden("Token signature is invalid."),
        _ => RelayAuthResult.Forbidden("Token is not valid."),
    };

    /// <summary>The chain of exception messages; IdentityModel hides URLs and tokens in them (PII off by default).</summary>
    private static string Describe(Exception exception)
    {
        var text = exception.Message;
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            text += " <- " + inner.Message;
        }

        return text;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Cannot fetch the token signing keys from {Source} ({Error}); closing the client with 1013")]
        public static partial void KeysUnavailable(ILogger logger, string source, string error);

        [LoggerMessage(2, LogLevel.Debug, "Token rejected: {Check}")]
        public static partial void Rejected(ILogger logger, string check);
    }
}
