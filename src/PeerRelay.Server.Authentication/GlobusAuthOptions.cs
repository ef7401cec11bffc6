using PeerRelay.Server.Authentication.Internal;

namespace PeerRelay.Server.Authentication;

/// <summary>
/// Settings of <see cref="GlobusAuthenticator"/>, the <c>[auth] method = "globus"</c> of the configuration file; the
/// <c>[auth.kwargs]</c> key of each property is named in its summary. See <c>docs/security.md</c>.
/// </summary>
public sealed class GlobusAuthOptions
{
    /// <summary>Globus Auth's token introspection endpoint, the default of <see cref="IntrospectionUrl"/>.</summary>
    public const string DefaultIntrospectionUrl = "https://auth.globus.org/v2/oauth2/token/introspect";

    /// <summary>
    /// The client id of the "ProxyStore Relay Server" Globus application, the resource server ProxyStore clients ask
    /// tokens for, and the default of <see cref="Audience"/> (as in ProxyStore).
    /// </summary>
    public const string DefaultAudience = "ebd5bbed-95e2-47cf-9c80-39e2064274bd";

    /// <summary>The environment variable <see cref="ApplyEnvironment"/> takes <see cref="ClientId"/> from when unset.</summary>
    public const string ClientIdEnvironmentVariable = "PROXYSTORE_GLOBUS_CLIENT_ID";

    /// <summary>The environment variable <see cref="ApplyEnvironment"/> takes <see cref="ClientSecret"/> from when unset.</summary>
    public const string ClientSecretEnvironmentVariable = "PROXYSTORE_GLOBUS_CLIENT_SECRET";

    /// <summary>
    /// Gets or sets the relay's Globus application client id (<c>client_id</c>), used with <see cref="ClientSecret"/>
    /// to call the introspection endpoint. Required; no default.
    /// </summary>
    public string? ClientId { get; set; }

    /// <summary>Gets or sets the relay's Globus application client secret (<c>client_secret</c>). Required; never logged.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// Gets or sets the audience a token must carry in its <c>aud</c> (<c>audience</c>): the resource server the
    /// token was issued for. Default <see cref="DefaultAudience"/>.
    /// </summary>
    public string Audience { get; set; } = DefaultAudience;

    /// <summary>
    /// Gets or sets the RFC 7662 introspection endpoint (<c>introspection_url</c>). Default
    /// <see cref="DefaultIntrospectionUrl"/>. Must be <c>https</c>, except on a loopback address.
    /// </summary>
    public Uri IntrospectionUrl { get; set; } = new(DefaultIntrospectionUrl);

    /// <summary>
    /// Gets or sets how long an introspection result is reused for the same token (<c>cache_duration</c>, seconds).
    /// Default 60 s; an accepted token is never reused past its <c>exp</c>. Zero turns the cache off.
    /// </summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gets or sets the most tokens the cache holds (<c>cache_size</c>); when full, the entry that expires first
    /// makes room. Default 10,000.
    /// </summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets how long one introspection request may take (<c>timeout</c>, seconds) before the client is closed
    /// with 1013 (try again later). Default 10 s.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets the clock of the cache. Default <see cref="TimeProvider.System"/>; tests set a fake one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Fills <see cref="ClientId"/> and <see cref="ClientSecret"/>, when unset, from
    /// <see cref="ClientIdEnvironmentVariable"/> and <see cref="ClientSecretEnvironmentVariable"/>, as ProxyStore does.
    /// The library never reads the environment itself: the host passes the lookup (e.g.
    /// <see cref="Environment.GetEnvironmentVariable(string)"/>).
    /// </summary>
    /// <param name="environment">Returns an environment variable's value, or null when it is not set.</param>
    public void ApplyEnvironment(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (string.IsNullOrEmpty(ClientId))
        {
            ClientId = environment(ClientIdEnvironmentVariable);
        }

        if (string.IsNullOrEmpty(ClientSecret))
        {
            ClientSecret = environment(ClientSecretEnvironmentVariable);
        }
    }

    /// <summary>Checks every value and returns the problems found, as "key: problem" lines.</summary>
    /// <returns>An empty list when the options are valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            problems.Add($"auth.kwargs.client_id: not set; set it or the environment variable {ClientIdEnvironmentVariable}");
        }

        if (string.IsNullOrEmpty(ClientSecret))
        {
            problems.Add($"auth.kwargs.client_secret: not set; set it or the environment variable {ClientSecretEnvironmentVariable}");
        }

        if (string.IsNullOrWhiteSpace(Audience))
        {
            problems.Add("auth.kwargs.audience: empty; use the resource server (client id) your clients request tokens for");
        }

        Endpoints.Check("auth.kwargs.introspection_url", IntrospectionUrl, problems);
        if (CacheDuration < TimeSpan.Zero)
        {
            problems.Add($"auth.kwargs.cache_duration: {CacheDuration.TotalSeconds} is not allowed; use zero (no cache) or more seconds");
        }

        if (CacheSize < 1)
        {
            problems.Add($"auth.kwargs.cache_size: {CacheSize} is not allowed; use 1 or more tokens");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            problems.Add($"auth.kwargs.timeout: {Timeout.TotalSeconds} is not allowed; use more than zero seconds");
        }

        return problems;
    }
}
