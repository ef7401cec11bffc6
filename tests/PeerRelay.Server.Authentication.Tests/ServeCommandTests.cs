using System.Net;
using System.Net.WebSockets;
using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Authentication.Tests;

/// <summary>
/// The real <c>peerrelay serve --config FILE</c> process with an <c>[auth]</c> section for each method, against the
/// test's identity endpoints on 127.0.0.1: what a reviewer does by hand.
/// </summary>
public sealed class ServeCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private IdentityServer _identity = null!;

    public async Task InitializeAsync() => _identity = await IdentityServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _identity.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task JwtConfig_AcceptsGoodTokens_RefusesBadOnes_AndForeignOrigins()
    {
        var file = _directory.WriteFile("jwt.toml", $"""
            allowed_origins = ["https://app.example.org"]

            {_identity.JwtAuthToml}
            clock_skew = 30
            """);
        await using var relay = await RelayProcess.StartServeAsync(["--config", file]);

        await using var alice = await TestRelayClient.ConnectAsync(relay.Uri!, o =>
        {
            o.SetRequestHeader("Authorization", "Bearer " + _identity.Sign(_identity.RsaKey, sub: "alice"));
            o.SetRequestHeader("Origin", "https://app.example.org");
        });
        await alice.RegisterAsync(Guid.NewGuid());

        await using var expired = await Connect.WithBearerAsync(relay.Uri!, _identity.Sign(_identity.EcKey, expires: DateTime.UtcNow.AddMinutes(-5)));
        Assert.Equal((RelayCloseCodes.Forbidden, "ForbiddenError: Token has expired."), await Connect.RegisterExpectingCloseAsync(expired));

        await using var anonymous = await TestRelayClient.ConnectAsync(relay.Uri!);
        Assert.Equal(RelayCloseCodes.Unauthorized, (await Connect.RegisterExpectingCloseAsync(anonymous)).Code);

        using var foreign = new ClientWebSocket();
        foreign.Options.CollectHttpResponseDetails = true;
        foreign.Options.SetRequestHeader("Origin", "https://evil.example.org");
        await Assert.ThrowsAsync<WebSocketException>(() => foreign.ConnectAsync(relay.Uri!, CancellationToken.None).WithTimeout());
        Assert.Equal(HttpStatusCode.Forbidden, foreign.HttpStatusCode);
    }

    [Fact]
    public async Task GlobusConfig_TakesCredentialsFromTheEnvironment_AndNeverLogsTokens()
    {
        var file = _directory.WriteFile("globus.toml", $"""
            [auth]
            method = "globus"

            [auth.kwargs]
            audience = "{IdentityServer.Audience}"
            introspection_url = "{_identity.IntrospectionUrl}"

            [logging]
            default_level = "DEBUG"
            websockets_level = "DEBUG"
            """);
        await using var relay = await RelayProcess.StartServeAsync(["--config", file], environment: new Dictionary<string, string>
        {
            [GlobusAuthOptions.ClientIdEnvironmentVariable] = IdentityServer.ClientId,
            [GlobusAuthOptions.ClientSecretEnvironmentVariable] = IdentityServer.ClientSecret,
        });

        var token = _identity.ActiveToken("alice", DateTimeOffset.UtcNow.AddHours(1));
        await using var viaQuery = await Connect.WithQueryTokenAsync(relay.Uri!, token);
        await viaQuery.RegisterAsync(Guid.NewGuid());

        await using var revoked = await Connect.WithBearerAsync(relay.Uri!, "revoked-token-value");
        Assert.Equal(
            (RelayCloseCodes.Forbidden, "ForbiddenError: Token is expired or has been revoked."),
            await Connect.RegisterExpectingCloseAsync(revoked));

        await relay.WaitForLineAsync(l => l.Contains("Failed to authenticate", StringComparison.Ordinal));
        Assert.DoesNotContain(token, relay.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("revoked-token-value", relay.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(IdentityServer.ClientSecret, relay.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadAuthConfig_ExitsWithTheKeyAndTheFix()
    {
        var file = _directory.WriteFile("bad.toml", """
            [auth]
            method = "jwt"

            [auth.kwargs]
            issuer = "https://id.example.org"
            audience = "relay"
            jwks_url = "http://id.example.org/jwks"
            """);
        var (code, output) = await RelayProcess.RunAsync("serve", "--config", file);
        Assert.Equal(2, code);
        Assert.Contains($"peerrelay: error: {file}: auth.kwargs.jwks_url: 'http://id.example.org/jwks' must use https", output, StringComparison.Ordinal);
    }
}
