using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Hosting;
using PeerRelay.Server.Internal;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests.Hardening;

public sealed class LimitsTests
{
    [Fact]
    public async Task ConnectionsPerIp_OverLimit_ClosedWith1013UntilOneLeaves()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.MaxConnectionsPerIp = 3);
        var clients = new List<TestRelayClient>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(await TestRelayClient.ConnectAsync(server.Uri));
        }

        Assert.Equal(PerIpRefusal, await RefusedAsync(server.Uri));

        await clients[0].CloseAsync();
        await clients[0].DisposeAsync();
        var limiter = server.Services.GetRequiredService<ConnectionLimiter>();
        await TaskTimeoutExtensions.WaitUntil(() => limiter.Count == 2);
        await using var again = await TestRelayClient.ConnectAsync(server.Uri);
        await again.RegisterAsync(Guid.NewGuid());
        foreach (var client in clients.Skip(1))
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task TotalConnections_OverLimit_ClosedWith1013()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.MaxConnections = 2);
        await using var a = await TestRelayClient.ConnectAsync(server.Uri);
        await using var b = await TestRelayClient.ConnectAsync(server.Uri);
        Assert.Equal(TotalRefusal, await RefusedAsync(server.Uri));
        await a.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task ForwardedFor_FromTrustedProxy_CountsPerForwardedAddress()
    {
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.MaxConnectionsPerIp = 1;
            o.TrustedProxies.Add("127.0.0.0/8");
        });
        await using var a = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Forwarded-For", "203.0.113.7"));
        await using var b = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Forwarded-For", "198.51.100.1, 203.0.113.8"));
        Assert.Equal(PerIpRefusal, await RefusedAsync(server.Uri, "203.0.113.7"));
        Assert.Equal(2, server.Services.GetRequiredService<ConnectionLimiter>().AddressCount);
    }

    [Fact]
    public async Task ForwardedFor_FromUntrustedPeer_IsIgnored()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.MaxConnectionsPerIp = 1);
        await using var a = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Forwarded-For", "203.0.113.7"));
        Assert.Equal(PerIpRefusal, await RefusedAsync(server.Uri, "203.0.113.8"));
    }

    [Fact]
    public void ClientAddressResolver_WalksForwardedForPastTrustedHops()
    {
        var options = new RelayServerOptions();
        options.TrustedProxies.Add("10.0.0.0/8");
        options.TrustedProxies.Add("192.0.2.1");
        var resolver = new ClientAddressResolver(Microsoft.Extensions.Options.Options.Create(options));
        var proxy = IPAddress.Parse("10.1.2.3");
        Assert.Equal(IPAddress.Parse("203.0.113.9"), resolver.Resolve(proxy, "198.51.100.1, 203.0.113.9, 10.9.9.9, 192.0.2.1"));
        Assert.Equal(IPAddress.Parse("203.0.113.9"), resolver.Resolve(proxy, new Microsoft.Extensions.Primitives.StringValues(["198.51.100.1", "203.0.113.9:5000"])));
        Assert.Equal(IPAddress.Parse("10.1.2.3"), resolver.Resolve(proxy, "not-an-address"));
        Assert.Equal(IPAddress.Parse("198.51.100.5"), resolver.Resolve(IPAddress.Parse("198.51.100.5"), "203.0.113.9"));
        Assert.Equal(IPAddress.Parse("10.1.2.3"), resolver.Resolve(IPAddress.Parse("::ffff:10.1.2.3"), default));
    }

    [Fact]
    public async Task RegistrationDeadline_IdleSocket_Closed1008_RegisteredSocketStays()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.RegistrationTimeout = TimeSpan.FromSeconds(2)); // long enough to register on a loaded machine
        await using var registered = await TestRelayClient.ConnectAsync(server.Uri);
        var uuid = Guid.NewGuid();
        await registered.RegisterAsync(uuid);
        await using var idle = await TestRelayClient.ConnectAsync(server.Uri);
        var (code, reason) = await idle.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.PolicyViolation, code);
        Assert.Equal(RegistrationDeadline.Reason, reason);

        // Well past the deadline, the registered client still works.
        await registered.RegisterAsync(uuid);
    }

    [Fact]
    public async Task MessageRate_OverBurst_AnswersErrorThenClosesOnSustainedFlood()
    {
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.MessageRate = 0.001;
            o.MessageBurst = 5;
            o.MessageRateMaxRefusals = 20;
        });
        await using var flooder = await TestRelayClient.ConnectAsync(server.Uri);
        await using var honest = await TestRelayClient.ConnectAsync(server.Uri);
        var uuid = Guid.NewGuid();
        for (var i = 0; i < 5; i++)
        {
            await flooder.RegisterAsync(uuid);
        }

        await flooder.SendTextAsync(TestRelayClient.Registration(uuid));
        var refused = await flooder.ReceiveJsonAsync();
        Assert.Equal("relay_response", refused["message_type"]!.GetValue<string>());
        Assert.False(refused["success"]!.GetValue<bool>());
        Assert.True(refused["error"]!.GetValue<bool>());
        Assert.StartsWith("RateLimitError: ", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);

        for (var i = 0; i < 30; i++)
        {
            try
            {
                await flooder.SendTextAsync(TestRelayClient.Registration(uuid));
            }
            catch (WebSocketException)
            {
                break; // Closed under us: that is the point.
            }
        }

        var (code, reason) = await flooder.ReceiveUntilCloseAsync();
        Assert.Equal(RelayCloseCodes.PolicyViolation, code);
        Assert.Equal(RelayLimits.RateAbuseReason, reason);
        await TaskTimeoutExtensions.WaitUntil(() => server.Services.GetRequiredService<ClientRegistry>().Find(uuid) is null);

        // Another connection has its own bucket.
        await honest.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public void MessageRateLimiter_RefillsAndForgivesAfterAPause()
    {
        var bucket = default(MessageRateLimiter);
        const long Frequency = 1000; // milliseconds
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(RateDecision.Allowed, bucket.TryTake(0, Frequency, rate: 2, burst: 4, maxRefusals: 3));
        }

        Assert.Equal(RateDecision.Refused, bucket.TryTake(0, Frequency, 2, 4, 3));
        Assert.Equal(RateDecision.Refused, bucket.TryTake(100, Frequency, 2, 4, 3));
        Assert.Equal(RateDecision.Allowed, bucket.TryTake(600, Frequency, 2, 4, 3)); // 0.5 s at 2/s: one token
        Assert.Equal(2, bucket.Refusals);

        // A 2 s pause refills the bucket and forgives the refusals.
        Assert.Equal(RateDecision.Allowed, bucket.TryTake(2600, Frequency, 2, 4, 3));
        Assert.Equal(0, bucket.Refusals);
        for (var i = 0; i < 3; i++)
        {
            bucket.TryTake(2600, Frequency, 2, 4, 3);
        }

        Assert.Equal(RateDecision.Refused, bucket.TryTake(2600, Frequency, 2, 4, 3));
        Assert.Equal(RateDecision.Refused, bucket.TryTake(2600, Frequency, 2, 4, 3));
        Assert.Equal(RateDecision.Abusive, bucket.TryTake(2600, Frequency, 2, 4, 3));
    }

    [Fact]
    public async Task ClientsPerUser_OverLimit_RefusedWithResponseAndClose1008_TakeOverStillAllowed()
    {
        await using var server = await RelayTestServer.StartAsync(
            o => o.MaxClientsPerUser = 2,
            relay => relay.UseAuthenticator(new HeaderUserAuthenticator()));
        static Task<TestRelayClient> As(Uri uri, string user) => TestRelayClient.ConnectAsync(uri, o => o.SetRequestHeader("X-Test-User", user));

        var first = Guid.NewGuid();
        await using var a1 = await As(server.Uri, "alice");
        await a1.RegisterAsync(first);
        await using var a2 = await As(server.Uri, "alice");
        await a2.RegisterAsync(Guid.NewGuid());

        await using var a3 = await As(server.Uri, "alice");
        await a3.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
        var refused = await a3.ReceiveJsonAsync();
        Assert.False(refused["success"]!.GetValue<bool>());
        Assert.StartsWith("TooManyClientsError: ", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var (code, reason) = await a3.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.PolicyViolation, code);
        Assert.Equal(RelayLimits.TooManyClientsReason, reason);

        // Another user is not affected; a reconnecting alice client takes over its UUID even at the limit.
        await using var b1 = await As(server.Uri, "bob");
        await b1.RegisterAsync(Guid.NewGuid());
        await using var a1Again = await As(server.Uri, "alice");
        await a1Again.RegisterAsync(first);
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, (await a1.ReceiveCloseAsync()).Code);

        // When a client leaves, its slot is free again.
        var limits = server.Services.GetRequiredService<RelayLimits>();
        Assert.Equal(2, limits.ClientsOf(new RelayUser("alice")));
        await a2.CloseAsync();
        await TaskTimeoutExtensions.WaitUntil(() => limits.ClientsOf(new RelayUser("alice")) == 1);
        await using var a4 = await As(server.Uri, "alice");
        await a4.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task HandshakeTimeout_IsCounted_AsTheLimitItHit()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(300));
        using var limits = new MetricRecorder(server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), RelayMetrics.MeterName, "peerrelay.limits.hit");

        // A connection that never sends its request: the relay's connection middleware gives up on it.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Uri.Port).WithTimeout();
        int read;
        try
        {
            read = await tcp.GetStream().ReadAsync(new byte[16]).AsTask().WithTimeout(TimeSpan.FromSeconds(15));
        }
        catch (IOException)
        {
            read = 0; // Aborted: a reset rather than a FIN.
        }

        Assert.Equal(0, read);
        await TaskTimeoutExtensions.WaitUntil(() => limits.Count("limit", "handshake_timeout") == 1);
    }

    [Fact]
    public async Task HandshakeTimeout_SlowHeaders_ConnectionClosed()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.HandshakeTimeout = TimeSpan.FromSeconds(1));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Uri.Port).WithTimeout();
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n")).AsTask().WithTimeout();

        // Never finish the headers: the server must give up by itself (408 or a bare close), well within the deadline.
        var buffer = new byte[1024];
        var received = new StringBuilder();
        while (true)
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buffer).AsTask().WithTimeout(TimeSpan.FromSeconds(15));
            }
            catch (IOException)
            {
                break;
            }

            if (n == 0)
            {
                break;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        Assert.True(received.Length == 0 || received.ToString().StartsWith("HTTP/1.1 408", StringComparison.Ordinal), received.ToString());
    }

    [Fact]
    public void Validate_BadLimits_NameTheirKeys()
    {
        var options = new RelayServerOptions
        {
            MaxConnections = 0,
            MaxConnectionsPerIp = -1,
            MaxClientsPerUser = 0,
            RegistrationTimeout = TimeSpan.FromSeconds(-1),
            HandshakeTimeout = TimeSpan.Zero,
            MessageRate = double.NaN,
            MessageBurst = 0,
            MessageRateMaxRefusals = 0,
        };
        options.TrustedProxies.Add("10.0.0.0/99");
        var problems = string.Join('\n', options.Validate());
        foreach (var key in new[] { "max_connections:", "max_connections_per_ip:", "max_clients_per_user:", "registration_timeout:", "handshake_timeout:", "message_rate:", "message_burst:", "message_rate_max_refusals:", "trusted_proxies:" })
        {
            Assert.Contains(key, problems, StringComparison.Ordinal);
        }

        Assert.Empty(new RelayServerOptions().Validate());
    }

    private static (int, string) PerIpRefusal => (RelayCloseCodes.TryAgainLater, ConnectionRefusal.ReasonOf(ConnectionAdmission.TooManyFromAddress));

    private static (int, string) TotalRefusal => (RelayCloseCodes.TryAgainLater, ConnectionRefusal.ReasonOf(ConnectionAdmission.TooManyConnections));

    /// <summary>
    /// Opens a WebSocket the relay refuses: the upgrade succeeds (never an HTTP status, which would end a ProxyStore
    /// endpoint for good) and the relay closes it at once; returns the close code and reason.
    /// </summary>
    private static async Task<(int Code, string Reason)> RefusedAsync(Uri uri, string? forwardedFor = null)
    {
        await using var client = await TestRelayClient.ConnectAsync(uri, o =>
        {
            if (forwardedFor is not null)
            {
                o.SetRequestHeader("X-Forwarded-For", forwardedFor);
            }
        });
        return await client.ReceiveCloseAsync();
    }
}
