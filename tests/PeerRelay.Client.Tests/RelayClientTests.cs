using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Hosting;
using PeerRelay.Testing;

namespace PeerRelay.Client.Tests;

public sealed class RelayClientTests
{
    internal static RelayClientOptions Options(Uri address, Action<RelayClientOptions>? configure = null)
    {
        var options = new RelayClientOptions
        {
            Address = address,
            Name = "test",
            RetryPolicy = new ExponentialBackoffRetryPolicy { InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) },
        };
        configure?.Invoke(options);
        return options;
    }

    [Fact]
    public async Task ConnectAsync_RegistersAndReportsEachState()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = new RelayClient(Options(server.Uri));
        var states = new StateRecorder(client);
        Assert.Equal(RelayClientState.Created, client.State);

        await client.ConnectAsync().WithTimeout();

        Assert.Equal(RelayClientState.Registered, client.State);
        Assert.Equal(
            [RelayClientState.Connecting, RelayClientState.Registering, RelayClientState.Registered],
            states.Events.Select(e => e.State));
    }

    [Fact]
    public async Task Options_DefaultToHostNameAndFreshUuid()
    {
        var a = new RelayClientOptions();
        var b = new RelayClientOptions();
        Assert.Equal(System.Net.Dns.GetHostName(), a.Name);
        Assert.NotEqual(Guid.Empty, a.Uuid);
        Assert.NotEqual(a.Uuid, b.Uuid);
        Assert.Equal(TimeSpan.FromSeconds(10), a.RegistrationTimeout);
        Assert.IsType<ExponentialBackoffRetryPolicy>(a.RetryPolicy);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8700/")]
    [InlineData("https://relay.example.org/")]
    [InlineData("tcp://127.0.0.1:8700")]
    public void Constructor_AddressNotWebSocket_ThrowsClearArgumentException(string address)
    {
        var ex = Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Address = new Uri(address) }));
        Assert.Contains("ws:// or wss://", ex.Message, StringComparison.Ordinal);
        Assert.Contains(address, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NoAddress_ThrowsArgumentException()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions()));
        Assert.Contains("Address is required", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoClients_SwapOfferAndAnswer()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var alice = new RelayClient(Options(server.Uri, o => o.Name = "alice"));
        await using var bob = new RelayClient(Options(server.Uri, o => o.Name = "bob"));
        await Task.WhenAll(alice.ConnectAsync(), bob.ConnectAsync()).WithTimeout();

        await alice.SendAsync(bob.Uuid, "offer", "{\"sdp\": \"v=0 offer\", \"type\": \"offer\"}").WithTimeout();
        var offer = await bob.Messages.ReadAsync().WithTimeout();
        Assert.Equal(new PeerConnection(alice.Uuid, "alice", bob.Uuid, "offer", "{\"sdp\": \"v=0 offer\", \"type\": \"offer\"}"), offer);

        await bob.SendAsync(offer.SourceUuid, "answer", "v=0 answer").WithTimeout();
        var answer = await alice.Messages.ReadAsync().WithTimeout();
        Assert.Equal(bob.Uuid, answer.SourceUuid);
        Assert.Equal("bob", answer.SourceName);
        Assert.Equal("answer", answer.DescriptionType);
        Assert.Equal("v=0 answer", answer.Description);
        Assert.Null(answer.Error);
    }

    [Fact]
    public async Task SendAsync_UnknownPeer_ComesBackWithError()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = new RelayClient(Options(server.Uri));
        await client.ConnectAsync().WithTimeout();
        var nobody = Guid.NewGuid();

        await client.SendAsync(nobody, "offer", "sdp").WithTimeout();

        var bounced = await client.Messages.ReadAsync().WithTimeout();
        Assert.Equal(nobody, bounced.PeerUuid);
        Assert.StartsWith($"Cannot forward peer connection message to peer {nobody}", bounced.Error, StringComparison.Ordinal);
        Assert.Equal(RelayClientState.Registered, client.State);
    }

    [Fact]
    public async Task SendAsync_BeforeConnect_ThrowsInvalidOperation()
    {
        await using var client = new RelayClient(Options(new Uri("ws://127.0.0.1:1/")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.SendAsync(Guid.NewGuid(), "offer", "x"));
    }

    [Theory]
    [InlineData(RelayCloseCodes.Unauthorized, "UnauthorizedError: Request headers are missing authorization header.")]
    [InlineData(RelayCloseCodes.Forbidden, "ForbiddenError: Token is not active.")]
    public async Task ConnectAsync_AuthFailure_ThrowsRejectedAndDoesNotRetry(int code, string reason)
    {
        var auth = new RecordingAuthenticator(_ => code == RelayCloseCodes.Unauthorized
            ? RelayAuthResult.Unauthorized(reason["UnauthorizedError: ".Length..])
            : RelayAuthResult.Forbidden(reason["ForbiddenError: ".Length..]));
        await using var server = await RelayTestServer.StartAsync(relay: r => r.UseAuthenticator(auth));
        await using var client = new RelayClient(Options(server.Uri));
        var states = new StateRecorder(client);

        var ex = await Assert.ThrowsAsync<RelayRejectedException>(() => client.ConnectAsync().WithTimeout());

        Assert.Equal(code, ex.CloseCode);
        Assert.Equal(reason, ex.Reason);
        Assert.Contains($"close {code}", ex.Message, StringComparison.Ordinal);
        var closed = await states.WaitFor(RelayClientState.Closed).WithTimeout();
        Assert.Same(ex, closed.Error);
        Assert.Equal(RelayClientState.Closed, client.State);
        Assert.Equal(0, states.Count(RelayClientState.Reconnecting));
        Assert.Single(auth.AuthorizationHeaders);
        var completion = await Assert.ThrowsAsync<RelayRejectedException>(() => client.Messages.Completion.WithTimeout());
        Assert.Same(ex, completion);
        await Assert.ThrowsAsync<RelayRejectedException>(() => client.SendAsync(Guid.NewGuid(), "offer", "x"));
    }

    [Fact]
    public async Task SameUuidRegisteredElsewhere_OldClientEndsWith4004AndDoesNotRetry()
    {
        await using var server = await RelayTestServer.StartAsync();
        var uuid = Guid.NewGuid();
        await using var first = new RelayClient(Options(server.Uri, o => o.Uuid = uuid));
        var states = new StateRecorder(first);
        await first.ConnectAsync().WithTimeout();
        await using var second = new RelayClient(Options(server.Uri, o => o.Uuid = uuid));
        await second.ConnectAsync().WithTimeout();

        var ex = await Assert.ThrowsAsync<RelayRejectedException>(() => first.Messages.Completion.WithTimeout());

        Assert.Equal(RelayCloseCodes.DuplicateRegistration, ex.CloseCode);
        Assert.Equal(RelayCloseCodes.DuplicateRegistrationReason, ex.Reason);
        await states.WaitFor(RelayClientState.Closed).WithTimeout();
        Assert.Equal(0, states.Count(RelayClientState.Reconnecting));
        Assert.Equal(1, states.Count(RelayClientState.Connecting));
        Assert.Equal(RelayClientState.Registered, second.State);

        // The one that took over still works.
        await second.SendAsync(uuid, "offer", "to myself").WithTimeout();
        Assert.Equal("to myself", (await second.Messages.ReadAsync().WithTimeout()).Description);
    }

    [Fact]
    public async Task RegistrationRefused_SuccessFalse_ThrowsRejectedWithTheRelaysMessage()
    {
        await using var fake = await FakeServers.StartWebSocketAsync(
            """{"success": false, "message": "RegistrationError: endpoint limit reached", "error": true, "message_type": "relay_response"}""");
        await using var client = new RelayClient(Options(FakeServers.WebSocketUri(fake)));

        var ex = await Assert.ThrowsAsync<RelayRejectedException>(() => client.ConnectAsync().WithTimeout());

        Assert.Null(ex.CloseCode);
        Assert.Equal("RegistrationError: endpoint limit reached", ex.Reason);
        Assert.Contains("refused the registration", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RelayRestartsOnSamePort_ClientRegistersAgainAndQueuedSendGoesOut()
    {
        var server = await RelayTestServer.StartAsync();
        var port = server.Uri.Port;
        await using var client = new RelayClient(Options(server.Uri));
        var states = new StateRecorder(client);
        await client.ConnectAsync().WithTimeout();

        await server.DisposeAsync();
        var reconnecting = await states.WaitFor(RelayClientState.Reconnecting).WithTimeout();
        var closedBy = Assert.IsType<RelayConnectionException>(reconnecting.Error);
        Assert.Equal(RelayCloseCodes.GoingAway, closedBy.CloseCode);

        // A send made while the relay is down waits for the next registered connection.
        var queued = client.SendAsync(client.Uuid, "offer", "sent while the relay was down");
        Assert.False(queued.IsCompleted);

        await using var restarted = await RelayTestServer.StartAsync(port: port);
        await states.WaitFor(RelayClientState.Registered, 2).WithTimeout();
        await queued.WithTimeout();
        Assert.Equal("sent while the relay was down", (await client.Messages.ReadAsync().WithTimeout()).Description);

        // And another client on the restarted relay reaches it.
        await using var other = new RelayClient(Options(restarted.Uri));
        await other.ConnectAsync().WithTimeout();
        await other.SendAsync(client.Uuid, "offer", "hello again").WithTimeout();
        var received = await client.Messages.ReadAsync().WithTimeout();
        Assert.Equal(other.Uuid, received.SourceUuid);
        Assert.Equal("hello again", received.Description);
    }

    [Fact]
    public async Task ConnectionCutAbruptly_ClientReconnectsAndMessagesFlow()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var proxy = TcpProxy.Start(server.Uri);
        await using var client = new RelayClient(Options(proxy.WebSocketUri));
        var states = new StateRecorder(client);
        await using var peer = new RelayClient(Options(server.Uri));
        await Task.WhenAll(client.ConnectAsync(), peer.ConnectAsync()).WithTimeout();

        Assert.Equal(1, proxy.CutAll());

        var reconnecting = await states.WaitFor(RelayClientState.Reconnecting).WithTimeout();
        Assert.NotNull(reconnecting.Error);
        await states.WaitFor(RelayClientState.Registered, 2).WithTimeout();
        Assert.Equal(2, proxy.AcceptedConnections);

        await peer.SendAsync(client.Uuid, "offer", "after the cut").WithTimeout();
        Assert.Equal("after the cut", (await client.Messages.ReadAsync().WithTimeout()).Description);
        await client.SendAsync(peer.Uuid, "answer", "me too").WithTimeout();
        Assert.Equal("me too", (await peer.Messages.ReadAsync().WithTimeout()).Description);
    }

    [Fact]
    public async Task HeadersProvider_IsCalledAgainOnReconnect_RelaySeesTheNewToken()
    {
        var auth = new RecordingAuthenticator(RecordingAuthenticator.AcceptAll);
        await using var server = await RelayTestServer.StartAsync(relay: r => r.UseAuthenticator(auth));
        await using var proxy = TcpProxy.Start(server.Uri);
        var calls = 0;
        await using var client = new RelayClient(Options(proxy.WebSocketUri, o => o.HeadersProvider = _ =>
        {
            var n = Interlocked.Increment(ref calls);
            return ValueTask.FromResult<IReadOnlyDictionary<string, string>>(
                new Dictionary<string, string> { ["Authorization"] = $"Bearer token-{n}" });
        }));
        var states = new StateRecorder(client);
        await client.ConnectAsync().WithTimeout();

        proxy.CutAll();
        await states.WaitFor(RelayClientState.Registered, 2).WithTimeout();

        Assert.Equal(["Bearer token-1", "Bearer token-2"], auth.AuthorizationHeaders);
    }

    [Fact]
    public async Task StaticHeaders_AreSentWithTheHandshake()
    {
        var auth = new RecordingAuthenticator(RecordingAuthenticator.AcceptAll);
        await using var server = await RelayTestServer.StartAsync(relay: r => r.UseAuthenticator(auth));
        var options = Options(server.Uri);
        options.Headers["Authorization"] = "Bearer static";
        await using var client = new RelayClient(options);
        await client.ConnectAsync().WithTimeout();
        Assert.Equal(["Bearer static"], auth.AuthorizationHeaders);
    }

    [Fact]
    public async Task DisposeAsync_IsIdempotent_CompletesMessagesAndFailsLaterSends()
    {
        await using var server = await RelayTestServer.StartAsync();
        var client = new RelayClient(Options(server.Uri));
        var states = new StateRecorder(client);
        await client.ConnectAsync().WithTimeout();

        await Task.WhenAll(client.DisposeAsync().AsTask(), client.DisposeAsync().AsTask()).WithTimeout();
        await client.DisposeAsync();

        Assert.Equal(RelayClientState.Closed, client.State);
        Assert.Equal(1, states.Count(RelayClientState.Closed));
        Assert.Null(states.Events[^1].Error);
        await client.Messages.Completion.WithTimeout();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.SendAsync(Guid.NewGuid(), "offer", "x"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.ConnectAsync());
    }

    [Fact]
    public async Task DisposeAsync_NeverConnected_Completes()
    {
        var client = new RelayClient(Options(new Uri("ws://127.0.0.1:1/")));
        await client.DisposeAsync();
        await client.DisposeAsync();
        Assert.Equal(RelayClientState.Closed, client.State);
        await client.Messages.Completion.WithTimeout();
    }

    [Fact]
    public async Task SendAsync_CancelledWhileWaitingForConnection_IsNotSentLater()
    {
        var port = FakeServers.ClosedPort();
        await using var client = new RelayClient(Options(new Uri($"ws://127.0.0.1:{port}/")));
        var states = new StateRecorder(client);
        _ = client.ConnectAsync();
        await states.WaitFor(RelayClientState.Reconnecting).WithTimeout();
        using var cts = new CancellationTokenSource();
        var send = client.SendAsync(client.Uuid, "offer", "cancelled");
        await cts.CancelAsync();
        var sendWithToken = client.SendAsync(client.Uuid, "offer", "cancelled too", cts.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sendWithToken.WithTimeout());

        await using var server = await RelayTestServer.StartAsync(port: port);
        await send.WithTimeout();
        Assert.Equal("cancelled", (await client.Messages.ReadAsync().WithTimeout()).Description);

        // Messages arrive in order: if the cancelled one had gone out, it would come before this marker.
        await client.SendAsync(client.Uuid, "offer", "marker").WithTimeout();
        Assert.Equal("marker", (await client.Messages.ReadAsync().WithTimeout()).Description);
    }

    [Fact]
    public async Task SelfSignedRelay_RefusedByDefault_AcceptedWithAcceptAnyServerCertificate()
    {
        var (app, uri) = await FakeServers.StartTlsRelayAsync();
        await using var _ = app;

        await using var strict = new RelayClient(Options(uri, o => o.RetryPolicy = new NoRetry()));
        var ex = await Assert.ThrowsAsync<RelayConnectionException>(() => strict.ConnectAsync().WithTimeout());
        Assert.Contains("certificate", ex.ToString(), StringComparison.OrdinalIgnoreCase);

        await using var lenient = new RelayClient(Options(uri, o => o.AcceptAnyServerCertificate = true));
        await lenient.ConnectAsync().WithTimeout();
        await lenient.SendAsync(lenient.Uuid, "offer", "over tls").WithTimeout();
        Assert.Equal("over tls", (await lenient.Messages.ReadAsync().WithTimeout()).Description);
    }

    private sealed class NoRetry : IRelayRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RelayRetryContext context) => null;
    }

    [Fact]
    public async Task DisposeAsync_WhileReceiveQueueIsFull_Completes()
    {
        await using var server = await RelayTestServer.StartAsync();
        var client = new RelayClient(Options(server.Uri, o => o.ReceiveQueueCapacity = 1));
        await client.ConnectAsync().WithTimeout();

        // Nobody reads: the first message fills the queue, the second leaves the receive loop waiting for room.
        for (var i = 0; i < 3; i++)
        {
            await client.SendAsync(client.Uuid, "offer", $"unread {i}").WithTimeout();
        }

        await TaskTimeoutExtensions.WaitUntil(() => client.Messages.Count == 1);
        await client.DisposeAsync().AsTask().WithTimeout();
        Assert.Equal(RelayClientState.Closed, client.State);
    }

    [Fact]
    public async Task RegistrationNotAnswered_TimesOutAndIsRetried()
    {
        await using var silent = await FakeServers.StartWebSocketAsync(reply: null);
        await using var client = new RelayClient(Options(FakeServers.WebSocketUri(silent), o => o.RegistrationTimeout = TimeSpan.FromMilliseconds(200)));
        var states = new StateRecorder(client);
        _ = client.ConnectAsync();

        var reconnecting = await states.WaitFor(RelayClientState.Reconnecting).WithTimeout();

        var timeout = Assert.IsType<TimeoutException>(reconnecting.Error);
        Assert.Equal("The relay did not answer the registration within 0.2 s.", timeout.Message);
        await states.WaitFor(RelayClientState.Registering, 2).WithTimeout();
    }

    [Fact]
    public async Task SendingThroughRepeatedCuts_NoSendFails_AndMessagesFlowAfterwards()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var proxy = TcpProxy.Start(server.Uri);
        await using var sender = new RelayClient(Options(proxy.WebSocketUri));
        var states = new StateRecorder(sender);
        await using var receiver = new RelayClient(Options(server.Uri));
        await Task.WhenAll(sender.ConnectAsync(), receiver.ConnectAsync()).WithTimeout();

        var lastArrived = Task.Run(async () =>
        {
            await foreach (var message in receiver.Messages.ReadAllAsync())
            {
                if (message.Description == "last")
                {
                    return;
                }
            }
        });
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var sending = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await sender.SendAsync(receiver.Uuid, "candidate", $"n{sent}");
                Interlocked.Increment(ref sent);
            }
        });

        for (var cut = 1; cut <= 3; cut++)
        {
            var before = Volatile.Read(ref sent);
            await TaskTimeoutExtensions.WaitUntil(() => Volatile.Read(ref sent) > before + 20 || sending.IsCompleted);
            proxy.CutAll();
            await states.WaitFor(RelayClientState.Registered, cut + 1).WithTimeout();
        }

        await stop.CancelAsync();
        await sending.WithTimeout(); // Throws if any SendAsync threw.

        await sender.SendAsync(receiver.Uuid, "offer", "last").WithTimeout();
        await lastArrived.WithTimeout();
        Assert.Equal(3, states.Count(RelayClientState.Reconnecting));
    }
}
