using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication.Internal;
using PeerRelay.Testing;

namespace PeerRelay.Server.Authentication.Tests;

/// <summary>JWT validation with keys from a real JWKS / OIDC discovery endpoint on 127.0.0.1.</summary>
public sealed class JwtAuthenticatorTests : IAsyncLifetime
{
    private IdentityServer _identity = null!;

    public async Task InitializeAsync() => _identity = await IdentityServer.StartAsync();

    public async Task DisposeAsync() => await _identity.DisposeAsync();

    [Fact]
    public async Task RsaSignedToken_FromJwksUrl_Registers()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await Connect.WithBearerAsync(relay.Uri, _identity.Sign(_identity.RsaKey));
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task EcSignedToken_FromOidcDiscovery_Registers()
    {
        await using var relay = await StartRelayAsync(o =>
        {
            o.JwksUrl = null;
            o.Issuer = null; // taken from the discovery document
            o.Authority = _identity.BaseUri;
        });
        await using var client = await Connect.WithBearerAsync(relay.Uri, _identity.Sign(_identity.EcKey));
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task TokenInAccessTokenQuery_Registers()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await Connect.WithQueryTokenAsync(relay.Uri, _identity.Sign(_identity.EcKey));
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task NoToken_Closes4001()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await TestRelayClient.ConnectAsync(relay.Uri);
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal(RelayCloseCodes.Unauthorized, code);
        Assert.Equal("UnauthorizedError: Request headers are missing authorization header.", reason);
    }

    [Fact]
    public async Task NotAJwt_Closes4001()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await Connect.WithBearerAsync(relay.Uri, "not-a-jwt");
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal(RelayCloseCodes.Unauthorized, code);
        Assert.Equal("UnauthorizedError: Bearer token is not a well-formed JWT.", reason);
    }

    public static TheoryData<string, string> Rejections => new()
    {
        { "expired", "ForbiddenError: Token has expired." },
        { "not_yet_valid", "ForbiddenError: Token is not valid yet (nbf is in the future)." },
        { "wrong_issuer", "ForbiddenError: Token issuer is not the configured issuer." },
        { "wrong_audience", $"ForbiddenError: Token audience does not include \"{IdentityServer.Audience}\"." },
        { "foreign_key_same_kid", "ForbiddenError: Token signature is invalid." },
        { "unknown_kid", "ForbiddenError: Token signature is invalid: no published key matches." },
        { "tampered_payload", "ForbiddenError: Token signature is invalid." },
        { "unsigned", "ForbiddenError: Token signature algorithm is not allowed." },
        { "hmac", "ForbiddenError: Token signature algorithm is not allowed." },
        { "no_sub", "ForbiddenError: Token has no 'sub' claim naming the user." },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task InvalidToken_Closes4002_SayingWhich(string kind, string expected)
    {
        await using var relay = await StartRelayAsync();
        await using var client = await Connect.WithBearerAsync(relay.Uri, MakeToken(kind));
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal((RelayCloseCodes.Forbidden, expected), (code, reason));
    }

    [Fact]
    public async Task AlgorithmNotInAllowList_Closes4002()
    {
        await using var relay = await StartRelayAsync(o =>
        {
            o.Algorithms.Clear();
            o.Algorithms.Add("ES256");
        });
        await using var ec = await Connect.WithBearerAsync(relay.Uri, _identity.Sign(_identity.EcKey));
        await ec.RegisterAsync(Guid.NewGuid());
        await using var rsa = await Connect.WithBearerAsync(relay.Uri, _identity.Sign(_identity.RsaKey));
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(rsa);
        Assert.Equal((RelayCloseCodes.Forbidden, "ForbiddenError: Token signature algorithm is not allowed."), (code, reason));
    }

    [Fact]
    public async Task ExpiredWithinClockSkew_Registers()
    {
        await using var relay = await StartRelayAsync(o => o.ClockSkew = TimeSpan.FromMinutes(5));
        await using var client = await Connect.WithBearerAsync(relay.Uri, _identity.Sign(_identity.RsaKey, expires: DateTime.UtcNow.AddMinutes(-2)));
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task UserClaim_NamesTheUser()
    {
        await using var relay = await StartRelayAsync(o => o.UserClaim = "email");
        var claims = new Dictionary<string, object> { ["email"] = "alice@example.org" };
        await using var a = await Connect.WithBearerAsync(relay.Uri, _identity.Sign(_identity.RsaKey, sub: "x", claims: claims));
        await using var b = await Connect.WithBearerAsync(relay.Uri, _identity.Sign(_identity.EcKey, sub: "y", claims: claims));
        var (aId, bId) = (Guid.NewGuid(), Guid.NewGuid());
        await a.RegisterAsync(aId);
        await b.RegisterAsync(bId);

        // Different subs, same email: the same user, so they reach each other.
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId));
        var received = await b.ReceiveJsonAsync();
        Assert.Null(received["error"]?.GetValue<string>());
    }

    [Fact]
    public async Task KeysUnreachable_Closes1013_AndCounts()
    {
        await using var relay = await StartRelayAsync();
        using var metrics = new MetricRecorder(relay.Services.GetRequiredService<IMeterFactory>(), AuthenticationMetrics.MeterName, "peerrelay.auth.unavailable");
        _identity.KeysStatus = 503;
        await using var client = await Connect.WithBearerAsync(relay.Uri, _identity.Sign(_identity.RsaKey));
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal(RelayCloseCodes.TryAgainLater, code);
        Assert.StartsWith("ServiceUnavailableError:", reason);
        Assert.Equal(1, metrics.Count("method", "jwt"));

        // When the key set is back, clients get in again.
        _identity.KeysStatus = 200;
        await using var again = await Connect.WithBearerAsync(relay.Uri, _identity.Sign(_identity.RsaKey));
        await again.RegisterAsync(Guid.NewGuid());
    }

    private string MakeToken(string kind)
    {
        switch (kind)
        {
            case "expired":
                return _identity.Sign(_identity.RsaKey, expires: DateTime.UtcNow.AddMinutes(-5));
            case "not_yet_valid":
                return _identity.Sign(_identity.EcKey, notBefore: DateTime.UtcNow.AddMinutes(5));
            case "wrong_issuer":
                return _identity.Sign(_identity.RsaKey, issuer: "https://evil.example.org");
            case "wrong_audience":
                return _identity.Sign(_identity.EcKey, audience: "some-other-api");
            case "foreign_key_same_kid":
                return _identity.Sign(new RsaSecurityKey(RSA.Create(2048)) { KeyId = _identity.RsaKey.KeyId });
            case "unknown_kid":
                return _identity.Sign(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "not-published" });
            case "tampered_payload":
                {
                    var parts = _identity.Sign(_identity.RsaKey, sub: "alice").Split('.');
                    var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"alice\"", "\"bobby\"", StringComparison.Ordinal);
                    return $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
                }

            case "unsigned":
                {
                    var parts = _identity.Sign(_identity.RsaKey).Split('.');
                    return $"{Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""")}.{parts[1]}.";
                }

            case "hmac":
                return _identity.Sign(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "hmac" }, algorithm: SecurityAlgorithms.HmacSha256);
            case "no_sub":
                return _identity.Sign(_identity.RsaKey, sub: string.Empty);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    private Task<RelayTestServer> StartRelayAsync(Action<JwtAuthOptions>? configure = null) =>
        RelayTestServer.StartAsync(relay: r => r.AddJwtAuthentication(o =>
        {
            o.Issuer = _identity.Issuer;
            o.Audiences.Add(IdentityServer.Audience);
            o.JwksUrl = _identity.JwksUrl;
            configure?.Invoke(o);
        }));
}
