using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication.Internal;
using PeerRelay.Testing;

namespace PeerRelay.Server.Authentication.Tests;

/// <summary>Globus token introspection against a real introspection endpoint on 127.0.0.1.</summary>
public sealed class GlobusAuthenticatorTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private IdentityServer _identity = null!;

    public async Task InitializeAsync() => _identity = await IdentityServer.StartAsync();

    public async Task DisposeAsync() => await _identity.DisposeAsync();

    [Fact]
    public async Task ActiveToken_InHeader_Registers()
    {
        await using var relay = await StartRelayAsync();
        var token = _identity.ActiveToken("alice", _time.GetUtcNow().AddHours(1));
        await using var client = await Connect.WithBearerAsync(relay.Uri, token);
        await client.RegisterAsync(Guid.NewGuid());
        Assert.Equal(1, _identity.Introspections);
    }

    [Fact]
    public async Task ActiveToken_InAccessTokenQuery_Registers()
    {
        await using var relay = await StartRelayAsync();
        var token = _identity.ActiveToken("alice", _time.GetUtcNow().AddHours(1));
        await using var client = await Connect.WithQueryTokenAsync(relay.Uri, token);
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
        Assert.Equal(0, _identity.Introspections);
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    [InlineData("Bearer    ")]
    public async Task MalformedAuthorization_Closes4001(string header)
    {
        await using var relay = await StartRelayAsync();
        await using var client = await Connect.WithHeaderAsync(relay.Uri, header);
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal(RelayCloseCodes.Unauthorized, code);
        Assert.StartsWith(RelayCloseCodes.UnauthorizedPrefix, reason);
        Assert.Equal(0, _identity.Introspections);
    }

    [Fact]
    public async Task InactiveToken_Closes4002()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await Connect.WithBearerAsync(relay.Uri, "revoked-token");
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal(RelayCloseCodes.Forbidden, code);
        Assert.Equal("ForbiddenError: Token is expired or has been revoked.", reason);
    }

    [Fact]
    public async Task TokenForAnotherAudience_Closes4002()
    {
        await using var relay = await StartRelayAsync();
        var token = _identity.ActiveToken("alice", _time.GetUtcNow().AddHours(1), audience: "transfer.api.globus.org");
        await using var client = await Connect.WithBearerAsync(relay.Uri, token);
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal(RelayCloseCodes.Forbidden, code);
        Assert.StartsWith($"ForbiddenError: Token audience does not include \"{IdentityServer.Audience}\".", reason);
    }

    [Fact]
    public async Task ActiveTokenWithoutSub_Closes4002()
    {
        await using var relay = await StartRelayAsync();
        _identity.SetIntrospection("no-sub", new { active = true, aud = IdentityServer.Audience });
        await using var client = await Connect.WithBearerAsync(relay.Uri, "no-sub");
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal(RelayCloseCodes.Forbidden, code);
        Assert.Contains("sub", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondRegistration_UsesCache_UntilCacheDurationPasses()
    {
        await using var relay = await StartRelayAsync(o => o.CacheDuration = TimeSpan.FromSeconds(60));
        var token = _identity.ActiveToken("alice", _time.GetUtcNow().AddHours(1));

        await using (var first = await Connect.WithBearerAsync(relay.Uri, token))
        {
            await first.RegisterAsync(Guid.NewGuid());
        }

        await using (var second = await Connect.WithBearerAsync(relay.Uri, token))
        {
            await second.RegisterAsync(Guid.NewGuid());
        }

        Assert.Equal(1, _identity.Introspections);

        _time.Advance(TimeSpan.FromSeconds(61));
        await using var third = await Connect.WithBearerAsync(relay.Uri, token);
        await third.RegisterAsync(Guid.NewGuid());
        Assert.Equal(2, _identity.Introspections);
    }

    [Fact]
    public async Task CachedToken_IsNotReusedPastItsExp()
    {
        await using var relay = await StartRelayAsync(o => o.CacheDuration = TimeSpan.FromMinutes(10));
        var token = _identity.ActiveToken("alice", _time.GetUtcNow().AddSeconds(30));
        await using (var first = await Connect.WithBearerAsync(relay.Uri, token))
        {
            await first.RegisterAsync(Guid.NewGuid());
        }

        // Past exp but well inside cache_duration: the relay must ask again (the endpoint still says active, so a
        // second request proves the cache entry was dropped, and the relay then refuses the expired token itself).
        _time.Advance(TimeSpan.FromSeconds(31));
        await using var second = await Connect.WithBearerAsync(relay.Uri, token);
        var (code, reason) = await Connect.RegisterExpectingCloseAsync(second);
        Assert.Equal(2, _identity.Introspections);
        Assert.Equal(RelayCloseCodes.Forbidden, code);
        Assert.Equal("ForbiddenError: Token is expired or has been revoked.", reason);
    }

    [Fact]
    public async Task Cache_IsBoundedBySize()
    {
        await using var relay = await StartRelayAsync(o => o.CacheSize = 2);
        for (var i = 0; i < 4; i++)
        {
            await using var client = await Connect.WithBearerAsync(relay.Uri, _identity.ActiveToken("user" + i, _time.GetUtcNow().AddMinutes(5 + i)));
            await client.RegisterAsync(Guid.NewGuid());
        }

        var authenticator = (GlobusAuthenticator)relay.Services.GetRequiredService<IRelayAuthenticator>();
        Assert.Equal(2, authenticator.CacheCount);
        Assert.Equal(4, _identity.Introspections);
    }

    [Fact]
    public async Task SlowIntrospection_Closes1013_WhileOtherClientsKeepWorking()
    {
        await using var relay = await StartRelayAsync(o => o.Timeout = TimeSpan.FromSeconds(1));
        var metrics = new MetricRecorder(relay.Services.GetRequiredService<IMeterFactory>(), AuthenticationMetrics.MeterName, "peerrelay.auth.unavailable");
        using var _ = metrics;
        await using var slow = await Connect.WithBearerAsync(relay.Uri, _identity.SlowToken);
        await slow.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));

        // While the slow introspection is pending, two other clients register and exchange a message.
        await WaitUntilAsync(() => _identity.Introspections == 1);
        var token = _identity.ActiveToken("bob", _time.GetUtcNow().AddHours(1));
        await using var a = await Connect.WithBearerAsync(relay.Uri, token);
        await using var b = await Connect.WithBearerAsync(relay.Uri, token);
        var (aId, bId) = (Guid.NewGuid(), Guid.NewGuid());
        await a.RegisterAsync(aId);
        await b.RegisterAsync(bId);
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId));
        var forwarded = await b.ReceiveJsonAsync();
        Assert.Equal(aId.ToString(), forwarded["source_uuid"]!.GetValue<string>());
        Assert.False(_identity.SlowGate.Task.IsCompleted);

        var (code, reason) = await slow.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.TryAgainLater, code);
        Assert.StartsWith("ServiceUnavailableError:", reason);
        Assert.Equal(1, metrics.Count("reason", "timeout"));
    }

    [Fact]
    public async Task IntrospectionDown_Closes1013_LoggedAndCounted()
    {
        var logs = new CapturingLoggerProvider();
        var closedPort = ClosedPort();
        await using var relay = await StartRelayAsync(
            o => o.IntrospectionUrl = new Uri($"http://127.0.0.1:{closedPort}/introspect"),
            logs);
        using var metrics = new MetricRecorder(relay.Services.GetRequiredService<IMeterFactory>(), AuthenticationMetrics.MeterName, "peerrelay.auth.unavailable");
        await using var client = await Connect.WithBearerAsync(relay.Uri, "any-token");
        var (code, _) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal(RelayCloseCodes.TryAgainLater, code);
        Assert.Equal(1, metrics.Count("reason", "unreachable"));
        Assert.Contains(logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) && l.Contains("Token introspection", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(500, "status")]
    [InlineData(503, "status")]
    public async Task IntrospectionServerError_Closes1013(int status, string reason)
    {
        await using var relay = await StartRelayAsync();
        using var metrics = new MetricRecorder(relay.Services.GetRequiredService<IMeterFactory>(), AuthenticationMetrics.MeterName, "peerrelay.auth.unavailable");
        _identity.IntrospectionStatus = status;
        await using var client = await Connect.WithBearerAsync(relay.Uri, _identity.ActiveToken("alice", _time.GetUtcNow().AddHours(1)));
        var (code, _) = await Connect.RegisterExpectingCloseAsync(client);
        Assert.Equal(RelayCloseCodes.TryAgainLater, code);
        Assert.Equal(1, metrics.Count("reason", reason));
    }

    [Fact]
    public async Task WrongClientSecret_Closes1013_AndIsNotCached()
    {
        await using var relay = await StartRelayAsync(o => o.ClientSecret = "wrong");
        var token = _identity.ActiveToken("alice", _time.GetUtcNow().AddHours(1));
        for (var i = 1; i <= 2; i++)
        {
            await using var client = await Connect.WithBearerAsync(relay.Uri, token);
            var (code, _) = await Connect.RegisterExpectingCloseAsync(client);
            Assert.Equal(RelayCloseCodes.TryAgainLater, code);
            Assert.Equal(i, _identity.Introspections);
        }
    }

    [Fact]
    public async Task TokenAndSecret_NeverAppearInLogs_AtTraceLevel()
    {
        var logs = new CapturingLoggerProvider();
        await using (var relay = await StartRelayAsync(logs: logs))
        {
            var token = _identity.ActiveToken("alice", _time.GetUtcNow().AddHours(1));
            await using (var viaQuery = await Connect.WithQueryTokenAsync(relay.Uri, token))
            {
                await viaQuery.RegisterAsync(Guid.NewGuid());
            }

            await using var rejected = await Connect.WithQueryTokenAsync(relay.Uri, "rejected-token-text");
            await Connect.RegisterExpectingCloseAsync(rejected);
            Assert.Equal(2, _identity.Introspections);

            var lines = logs.Lines;
            Assert.Contains(lines, l => l.Contains("Registered client", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("System.Net.Http.HttpClient." + GlobusAuthenticator.HttpClientName, StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains(token, StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("rejected-token-text", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains(IdentityServer.ClientSecret, StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("access_token", StringComparison.Ordinal));
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task WaitUntilAsync(Func<bool> condition) => TaskTimeoutExtensions.WaitUntil(condition);

    private Task<RelayTestServer> StartRelayAsync(Action<GlobusAuthOptions>? configure = null, CapturingLoggerProvider? logs = null) =>
        RelayTestServer.StartAsync(
            relay: r => r.AddGlobusAuthentication(o =>
            {
                o.ClientId = IdentityServer.ClientId;
                o.ClientSecret = IdentityServer.ClientSecret;
                o.Audience = IdentityServer.Audience;
                o.IntrospectionUrl = _identity.IntrospectionUrl;
                o.TimeProvider = _time;
                configure?.Invoke(o);
            }),
            host: logs is null ? null : b =>
            {
                b.Logging.AddProvider(logs);
                b.Logging.SetMinimumLevel(LogLevel.Trace);
            });
}
