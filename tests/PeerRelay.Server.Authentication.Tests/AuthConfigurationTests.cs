using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerRelay.Protocol;
using PeerRelay.Server.Hosting;
using PeerRelay.Testing;

namespace PeerRelay.Server.Authentication.Tests;

/// <summary>The [auth] section mapping: every key, the environment fallback, and precise errors.</summary>
public sealed class AuthConfigurationTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("none")]
    public void NoMethod_KeepsNoAuthentication(string? method)
    {
        var services = new ServiceCollection();
        AuthConfiguration.Apply(services.AddPeerRelay(), method, null, NoEnvironment);
        using var provider = services.AddLogging().BuildServiceProvider();
        Assert.IsType<NoAuthenticator>(provider.GetRequiredService<IRelayAuthenticator>());
    }

    [Fact]
    public void UnknownMethod_Throws()
    {
        var error = Assert.Throws<AuthConfigurationException>(() => Apply("ldap", []));
        Assert.Equal("auth.method: \"ldap\" is unknown; use \"globus\" or \"jwt\", or \"none\" (or no method) for no authentication", error.Message);
    }

    [Fact]
    public void KwargsWithoutMethod_Throws()
    {
        var error = Assert.Throws<AuthConfigurationException>(() => Apply(null, new() { ["client_id"] = "x" }));
        Assert.StartsWith("auth.kwargs: given, but auth.method is not set", error.Message);
    }

    [Fact]
    public void UnknownGlobusKey_ThrowsListingTheKnownKeys()
    {
        var error = Assert.Throws<AuthConfigurationException>(() => Apply("globus", Globus(("client_secrt", "x"))));
        Assert.Equal(
            "auth.kwargs.client_secrt: not a setting of method \"globus\"; its settings are client_id, client_secret, audience, introspection_url, cache_duration, cache_size, timeout",
            error.Message);
    }

    [Fact]
    public void UnknownJwtKey_Throws()
    {
        var error = Assert.Throws<AuthConfigurationException>(() => Apply("jwt", new() { ["issuer"] = "https://id.example.org", ["audiences"] = "relay" }));
        Assert.StartsWith("auth.kwargs.audiences: not a setting of method \"jwt\"", error.Message);
    }

    [Theory]
    [InlineData("cache_duration", "60", "auth.kwargs.cache_duration: expected a number of seconds (zero or more), got the string \"60\"")]
    [InlineData("cache_duration", -1L, "auth.kwargs.cache_duration: expected a number of seconds (zero or more), got -1")]
    [InlineData("cache_size", 1.5, "auth.kwargs.cache_size: expected a whole number, got 1.5")]
    [InlineData("cache_size", 0L, "auth.kwargs.cache_size: 0 is not allowed; use 1 or more tokens")]
    [InlineData("timeout", 0L, "auth.kwargs.timeout: 0 is not allowed; use more than zero seconds")]
    [InlineData("audience", true, "auth.kwargs.audience: expected a string, got true")]
    [InlineData("introspection_url", "auth.example.org/introspect", "auth.kwargs.introspection_url: 'auth.example.org/introspect' is not an absolute http(s) URL")]
    [InlineData("introspection_url", "http://auth.example.org/introspect", "auth.kwargs.introspection_url: 'http://auth.example.org/introspect' must use https (plain http is allowed only on a loopback address such as 127.0.0.1)")]
    public void BadGlobusValue_Throws(string key, object value, string expected)
    {
        var error = Assert.Throws<AuthConfigurationException>(() => Apply("globus", Globus((key, value))));
        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void MistypedSecret_IsNotEchoed()
    {
        var error = Assert.Throws<AuthConfigurationException>(() => Apply("globus", Globus(("client_secret", 987654321L))));
        Assert.Equal("auth.kwargs.client_secret: expected a string, got another type", error.Message);
    }

    [Fact]
    public void GlobusWithoutCredentials_NamesTheEnvironmentVariables()
    {
        var error = Assert.Throws<AuthConfigurationException>(() => Apply("globus", []));
        Assert.Contains("PROXYSTORE_GLOBUS_CLIENT_ID", error.Message, StringComparison.Ordinal);
        Assert.Contains("PROXYSTORE_GLOBUS_CLIENT_SECRET", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GlobusCredentials_FallBackToTheEnvironment_FileWins()
    {
        var environment = new Dictionary<string, string>
        {
            [GlobusAuthOptions.ClientIdEnvironmentVariable] = "env-id",
            [GlobusAuthOptions.ClientSecretEnvironmentVariable] = "env-secret",
        };
        var services = new ServiceCollection();
        AuthConfiguration.Apply(services.AddPeerRelay(), "globus", new Dictionary<string, object?> { ["client_id"] = "file-id" }, k => environment.GetValueOrDefault(k));
        using var provider = services.AddLogging().BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<GlobusAuthOptions>>().Value;
        Assert.Equal(("file-id", "env-secret"), (options.ClientId, options.ClientSecret));
        Assert.Equal(GlobusAuthOptions.DefaultAudience, options.Audience);
        Assert.Equal(new Uri(GlobusAuthOptions.DefaultIntrospectionUrl), options.IntrospectionUrl);
        Assert.IsType<GlobusAuthenticator>(provider.GetRequiredService<IRelayAuthenticator>());
    }

    [Fact]
    public void GlobusKwargs_AreAllApplied()
    {
        var services = new ServiceCollection();
        AuthConfiguration.Apply(services.AddPeerRelay(), "globus", Globus(
            ("audience", "my-resource"),
            ("introspection_url", "https://id.example.org/introspect"),
            ("cache_duration", 12.5),
            ("cache_size", 7L),
            ("timeout", 3L)), NoEnvironment);
        using var provider = services.AddLogging().BuildServiceProvider();
        var o = provider.GetRequiredService<IOptions<GlobusAuthOptions>>().Value;
        Assert.Equal(
            ("id", "secret", "my-resource", "https://id.example.org/introspect", 12.5, 7, 3.0),
            (o.ClientId, o.ClientSecret, o.Audience, o.IntrospectionUrl.AbsoluteUri, o.CacheDuration.TotalSeconds, o.CacheSize, o.Timeout.TotalSeconds));
    }

    [Fact]
    public void JwtKwargs_AreAllApplied()
    {
        var services = new ServiceCollection();
        AuthConfiguration.Apply(services.AddPeerRelay(), "jwt", new Dictionary<string, object?>
        {
            ["authority"] = "https://login.example.org/realms/relay",
            ["audience"] = new List<object?> { "relay", "relay-dev" },
            ["user_claim"] = "preferred_username",
            ["algorithms"] = new List<object?> { "ES256" },
            ["clock_skew"] = 0L,
            ["jwks_refresh_interval"] = 600L,
            ["timeout"] = 2.5,
        }, NoEnvironment);
        using var provider = services.AddLogging().BuildServiceProvider();
        var o = provider.GetRequiredService<IOptions<JwtAuthOptions>>().Value;
        Assert.Equal("https://login.example.org/realms/relay", o.Authority!.AbsoluteUri);
        Assert.Equal(["relay", "relay-dev"], o.Audiences);
        Assert.Equal(["ES256"], o.Algorithms);
        Assert.Equal(("preferred_username", 0.0, 600.0, 2.5), (o.UserClaim, o.ClockSkew.TotalSeconds, o.KeyRefreshInterval.TotalSeconds, o.Timeout.TotalSeconds));
        Assert.IsType<JwtAuthenticator>(provider.GetRequiredService<IRelayAuthenticator>());
    }

    [Theory]
    [InlineData("jwks_url", "both", "auth.kwargs: set exactly one of jwks_url")]
    [InlineData("jwks_url", null, "auth.kwargs.issuer: required with jwks_url")]
    [InlineData("audience", null, "auth.kwargs.audience: required")]
    [InlineData("algorithms", "HS256", "auth.kwargs.algorithms: 'HS256' is not supported")]
    [InlineData("jwks_url", "http://id.example.org/jwks", "auth.kwargs.jwks_url: 'http://id.example.org/jwks' must use https")]
    public void BadJwtSettings_Throw(string key, string? value, string expectedStart)
    {
        var kwargs = new Dictionary<string, object?> { ["issuer"] = "https://id.example.org", ["audience"] = "relay", ["jwks_url"] = "https://id.example.org/jwks" };
        switch (key, value)
        {
            case ("jwks_url", "both"):
                kwargs["authority"] = "https://id.example.org";
                break;
            case ("jwks_url", null):
                kwargs.Remove("issuer");
                break;
            case (_, null):
                kwargs.Remove(key);
                break;
            default:
                kwargs[key] = value;
                break;
        }

        var error = Assert.Throws<AuthConfigurationException>(() => Apply("jwt", kwargs));
        Assert.StartsWith(expectedStart, error.Message);
    }

    [Fact]
    public async Task JwtFromConfig_AuthenticatesOverTheNetwork()
    {
        await using var identity = await IdentityServer.StartAsync();
        await using var relay = await RelayTestServer.StartAsync(relay: r => AuthConfiguration.Apply(r, "jwt", new Dictionary<string, object?>
        {
            ["issuer"] = identity.Issuer,
            ["audience"] = IdentityServer.Audience,
            ["jwks_url"] = identity.JwksUrl.AbsoluteUri,
        }, NoEnvironment));
        await using var good = await Connect.WithBearerAsync(relay.Uri, identity.Sign(identity.EcKey));
        await good.RegisterAsync(Guid.NewGuid());
        await using var bad = await Connect.WithBearerAsync(relay.Uri, identity.Sign(identity.RsaKey, audience: "x"));
        Assert.Equal(RelayCloseCodes.Forbidden, (await Connect.RegisterExpectingCloseAsync(bad)).Code);
    }

    [Fact]
    public async Task GlobusFromConfig_WithEnvironmentCredentials_AuthenticatesOverTheNetwork()
    {
        await using var identity = await IdentityServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            [GlobusAuthOptions.ClientIdEnvironmentVariable] = IdentityServer.ClientId,
            [GlobusAuthOptions.ClientSecretEnvironmentVariable] = IdentityServer.ClientSecret,
        };
        await using var relay = await RelayTestServer.StartAsync(relay: r => AuthConfiguration.Apply(r, "globus", new Dictionary<string, object?>
        {
            ["audience"] = IdentityServer.Audience,
            ["introspection_url"] = identity.IntrospectionUrl.AbsoluteUri,
        }, k => environment.GetValueOrDefault(k)));
        await using var client = await Connect.WithBearerAsync(relay.Uri, identity.ActiveToken("alice", DateTimeOffset.UtcNow.AddHours(1)));
        await client.RegisterAsync(Guid.NewGuid());
    }

    private static Dictionary<string, object?> Globus(params (string Key, object? Value)[] extra)
    {
        var kwargs = new Dictionary<string, object?> { ["client_id"] = "id", ["client_secret"] = "secret" };
        foreach (var (key, value) in extra)
        {
            kwargs[key] = value;
        }

        return kwargs;
    }

    private static IPeerRelayBuilder Apply(string? method, Dictionary<string, object?> kwargs) =>
        AuthConfiguration.Apply(new ServiceCollection().AddPeerRelay(), method, kwargs, NoEnvironment);
}
