using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Hosting;
using PeerRelay.Server.Internal;
using PeerRelay.Server.Routing;
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
    public async Task MessageRate_OverBurst_SlowsTheSenderWithoutLoss_ThenClosesOnSustainedFlood()
    {
        const double Rate = 20;
        const int Burst = 10;
        var sustained = TimeSpan.FromSeconds(2);
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.MessageRate = Rate;
            o.MessageBurst = Burst;
            o.MessageRateSustained = sustained;
        });
        await using var flooder = await TestRelayClient.ConnectAsync(server.Uri);
        await using var receiver = await TestRelayClient.ConnectAsync(server.Uri);
        await using var honestA = await TestRelayClient.ConnectAsync(server.Uri);
        await using var honestB = await TestRelayClient.ConnectAsync(server.Uri);
        var (source, target, a, b) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await flooder.RegisterAsync(source);
        await receiver.RegisterAsync(target);
        await honestA.RegisterAsync(a);
        await honestB.RegisterAsync(b);

        // The receiver reads from the start (its socket never holds the relay up). What arrives arrives in
        // order, with nothing refused. Once the flooder is cut, a marker from another client comes after every flood
        // message the relay forwarded (it forwards in the order it reads; the flooder's last one went before its close).
        var received = 0;
        var reading = Task.Run(async () =>
        {
            while (true)
            {
                var message = await receiver.ReceiveJsonAsync(TimeSpan.FromSeconds(60));
                var description = message["description"]!.GetValue<string>();
                if (description == "marker")
                {
                    return;
                }

                Assert.Equal($"m{received}", description);
                Assert.Null(message["error"]?.GetValue<string>());
                received++;
            }
        });

        // Far more than the rate allows in the sustained period; small enough for the kernel's buffers, so the sends
        // return at once and the relay's reading is what paces them.
        const int Sent = 400;
        var flooding = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < Sent; i++)
        {
            await flooder.SendTextAsync(TestRelayClient.PeerConnection(source, target, $"m{i}"));
        }

        // Meanwhile other clients are served as usual.
        for (var i = 0; i < 20; i++)
        {
            await honestA.SendTextAsync(TestRelayClient.PeerConnection(a, b, $"h{i}"));
            Assert.Equal($"h{i}", (await honestB.ReceiveJsonAsync())["description"]!.GetValue<string>());
        }

        var cut = await flooder.ReceiveUntilCloseAsync(TimeSpan.FromSeconds(60));
        var floodWindow = flooding.Elapsed; // Covers everything the relay read of the flood: its bound only widens on a slow machine.
        await honestA.SendTextAsync(TestRelayClient.PeerConnection(a, target, "marker"));
        await reading.WithTimeout();

        var (code, reason) = cut;
        Assert.Equal(RelayCloseCodes.PolicyViolation, code);
        Assert.Equal(RelayLimits.RateAbuseReason, reason);
        Assert.True(received < Sent, $"all {Sent} messages got through: the flood was not cut");
        Assert.True(received > Burst, $"only {received} messages got through: the flood was refused, not slowed");

        // Paced: the relay forwarded no more than the burst plus the rate over the whole time from the first flood
        // message to the flooder's close (measured at the sender, so a receiver slowed by the machine cannot bunch
        // arrivals; a slow relay only forwards fewer).
        var bound = Burst + (Rate * floodWindow.TotalSeconds) + 2;
        Assert.True(received <= bound, $"{received} messages forwarded in {floodWindow.TotalSeconds:0.00} s: more than burst {Burst} + {Rate}/s");
        await TaskTimeoutExtensions.WaitUntil(() => server.Services.GetRequiredService<IRelayRegistry>().Find(source) is null);
        await receiver.RegisterAsync(target); // The receiver is fine.
    }

    [Fact]
    public void MessageRateLimiter_WaitsOverTheRate_ForgivesAPause_AbusiveWhenSustained()
    {
        var bucket = default(MessageRateLimiter);
        const long Frequency = 1000; // milliseconds
        const long Sustained = 3000;
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(RateDecision.Allowed, bucket.TryTake(0, Frequency, rate: 2, burst: 4, Sustained, out _));
        }

        // Over the burst: the message waits for its token (0.5 s at 2/s), on credit.
        Assert.Equal(RateDecision.Wait, bucket.TryTake(0, Frequency, 2, 4, Sustained, out var wait));
        Assert.Equal(500, wait);
        Assert.True(bucket.IsThrottled);
        Assert.Equal(RateDecision.Wait, bucket.TryTake(500, Frequency, 2, 4, Sustained, out wait));
        Assert.Equal(500, wait);

        // A pause long enough for a token to be there: within the rate again.
        Assert.Equal(RateDecision.Allowed, bucket.TryTake(2000, Frequency, 2, 4, Sustained, out _));
        Assert.False(bucket.IsThrottled);

        // Waiting for every message for the sustained period: abusive.
        var now = 2000L;
        while (bucket.TryTake(now, Frequency, 2, 4, Sustained, out wait) != RateDecision.Abusive)
        {
            now += wait;
            Assert.True(now < 2000 + Sustained + 5000, "never judged abusive");
        }

        Assert.True(now >= 2000 + Sustained, $"abusive after {now - 2000} ms, before the sustained period");
    }

    [Fact]
    public void MessageRateLimiter_WaitsThatOversleep_DoNotForgiveAFlood()
    {
        // A loaded machine wakes the relay late from every wait: a flooder's next message, in the socket all along, is
        // read later than its token was due. That lateness is the relay's, not a pause of the sender.
        var bucket = default(MessageRateLimiter);
        const long Frequency = 1000; // milliseconds
        const long Sustained = 3000;
        const long Overslept = 1500; // three tokens' worth at 2/s
        var now = 0L;
        while (bucket.TryTake(now, Frequency, rate: 2, burst: 4, Sustained, out var wait) != RateDecision.Abusive)
        {
            if (wait > 0)
            {
                now += wait + Overslept;
                bucket.Resumed(now);
            }

            Assert.True(now < Sustained * 10, "a flood read late was never judged abusive");
        }

        Assert.True(now >= Sustained, $"abusive after {now} ms, before the sustained period");
    }

    [Fact]
    public async Task ClientsPerUser_OverLimit_RefusedWithResponseAndClose1008_TakeOverStillAllowed()
    {
        await using var server = await RelayTestServer.StartAsync(
            o => o.MaxClientsPerUser = 2, // abuse_penalty stays on: this 1008 is a limit, not abuse
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

        // Once that connection has ended, another user from the same address is not shut out (no abuse_penalty);
        // a reconnecting alice client takes over its UUID even at the limit.
        var limiter = server.Services.GetRequiredService<ConnectionLimiter>();
        await TaskTimeoutExtensions.WaitUntil(() => limiter.Count == 2);
        await using var b1 = await As(server.Uri, "bob");
        await b1.RegisterAsync(Guid.NewGuid());
        await using var a1Again = await As(server.Uri, "alice");
        var a1Closed = a1.ReceiveCloseAsync();
        await a1Again.RegisterAsync(first);
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, (await a1Closed).Code);

        // When a client leaves, its slot is free again.
        var limits = server.Services.GetRequiredService<LocalRelayRegistry>();
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
            MessageRateSustained = TimeSpan.Zero,
        };
        options.TrustedProxies.Add("10.0.0.0/99");
        var problems = string.Join('\n', options.Validate());
        foreach (var key in new[] { "max_connections:", "max_connections_per_ip:", "max_clients_per_user:", "registration_timeout:", "handshake_timeout:", "message_rate:", "message_burst:", "message_rate_sustained:", "trusted_proxies:" })
        {
            Assert.Contains(key, problems, StringComparison.Ordinal);
        }

        Assert.Empty(new RelayServerOptions().Validate());
    }

    [Fact]
    public async Task NewConnections_OverTheAddressBurst_ClosedWith1013_PerForwardedAddress()
    {
        // The bucket counts connections opened, not held: closing them gives nothing back (no refill at this rate).
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.NewConnectionBurst = 3;
            o.NewConnectionRate = 0.001;
            o.TrustedProxies.Add("127.0.0.0/8");
        });
        for (var i = 0; i < 3; i++)
        {
            await using var client = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Forwarded-For", "203.0.113.7"));
            await client.RegisterAsync(Guid.NewGuid());
            await client.CloseAsync();
        }

        var tooFast = (RelayCloseCodes.TryAgainLater, ConnectionRefusal.ReasonOf(ConnectionAdmission.ConnectingTooFast));
        Assert.Equal(tooFast, await RefusedAsync(server.Uri, "203.0.113.7"));
        Assert.Equal(tooFast, await RefusedAsync(server.Uri, "198.51.100.1, 203.0.113.7")); // The rightmost untrusted hop.

        // Another address, behind the same proxy, has its own bucket.
        await using var other = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Forwarded-For", "203.0.113.8"));
        await other.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task AddressClosedForAbuse_IsRefused1013_ForTheAbusePenalty_OthersAreNot()
    {
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.RegistrationTimeout = TimeSpan.FromMilliseconds(200);
            o.AbusePenalty = TimeSpan.FromMinutes(10);
            o.TrustedProxies.Add("127.0.0.0/8");
        });
        await using var idle = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Forwarded-For", "203.0.113.9"));
        Assert.Equal((RelayCloseCodes.PolicyViolation, RegistrationDeadline.Reason), await idle.ReceiveCloseAsync());
        var limiter = server.Services.GetRequiredService<ConnectionLimiter>();
        await TaskTimeoutExtensions.WaitUntil(() => limiter.Count == 0);

        Assert.Equal(
            (RelayCloseCodes.TryAgainLater, ConnectionRefusal.ReasonOf(ConnectionAdmission.Penalized)),
            await RefusedAsync(server.Uri, "203.0.113.9"));
        await using var other = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Forwarded-For", "203.0.113.10"));
        await other.RegisterAsync(Guid.NewGuid());
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
