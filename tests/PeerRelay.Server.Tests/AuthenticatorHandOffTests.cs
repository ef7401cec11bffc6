using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Hosting;
using PeerRelay.Testing;
using PeerRelay.Transport;

namespace PeerRelay.Server.Tests;

/// <summary>
/// An authenticator that does not declare <see cref="IRelayAuthenticator.RunsInline"/> is called on the thread pool:
/// on the epoll transport (the suite's default on Linux) a blocking one must not hold the event loop that read the
/// registration, and with it every other connection on that loop.
/// </summary>
public sealed class AuthenticatorHandOffTests
{
    [Fact]
    public async Task BlockingAuthenticator_WhileItBlocks_ClientsOnTheSameLoopKeepForwarding()
    {
        using var authenticator = new BlockingAuthenticator(runsInline: false);
        await using var server = await RelayTestServer.StartAsync(
            relay: r => r.UseAuthenticator(authenticator),
            host: OneEventLoop);
        var (ua, ub) = (Guid.NewGuid(), Guid.NewGuid());
        await using var a = await TestRelayClient.ConnectAsync(server.Uri);
        await using var b = await TestRelayClient.ConnectAsync(server.Uri);
        await a.RegisterAsync(ua, "a");
        await b.RegisterAsync(ub, "b");

        await using var blocked = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Block", "1"));
        await blocked.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
        await authenticator.Blocking.WithTimeout(what: "the authenticator to block");

        // The one loop serves every connection: had it been called there, this would wait for the release below.
        await a.SendTextAsync(TestRelayClient.PeerConnection(ua, ub, "while-blocked", sourceName: "a"));
        Assert.Equal("while-blocked", (await b.ReceiveJsonAsync())["description"]!.GetValue<string>());
        Assert.True(authenticator.BlockedOnThreadPool, "the blocking authenticator ran on the thread pool");

        authenticator.Release();
        var response = await blocked.ReceiveJsonAsync();
        Assert.Equal("relay_response", response["message_type"]!.GetValue<string>());
        Assert.True(response["success"]!.GetValue<bool>());
    }

    [Fact]
    public async Task InlineAuthenticator_OnTheEpollTransport_RunsOnTheEventLoop()
    {
        using var authenticator = new BlockingAuthenticator(runsInline: true);
        await using var server = await RelayTestServer.StartAsync(relay: r => r.UseAuthenticator(authenticator), host: OneEventLoop);
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);

        await client.RegisterAsync(Guid.NewGuid());

        // On the epoll transport a registration is read on a loop thread of the transport's own; elsewhere on the pool.
        Assert.Equal(!TestTransport.IsEpoll, authenticator.LastCallOnThreadPool);
    }

    private static void OneEventLoop(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder) =>
        builder.Services.Configure<RelaySocketTransportOptions>(o => o.EventLoops = 1);

    /// <summary>Blocks its thread (a synchronous wait, as a blocking database call would) for handshakes with <c>X-Block</c>.</summary>
    private sealed class BlockingAuthenticator(bool runsInline) : IRelayAuthenticator, IDisposable
    {
        private readonly ManualResetEventSlim _release = new();
        private readonly TaskCompletionSource _blocking = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool RunsInline => runsInline;

        public Task Blocking => _blocking.Task;

        public bool BlockedOnThreadPool { get; private set; }

        public bool LastCallOnThreadPool { get; private set; }

        public void Release() => _release.Set();

        public void Dispose()
        {
            _release.Set();
            _release.Dispose();
        }

        public ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default)
        {
            LastCallOnThreadPool = Thread.CurrentThread.IsThreadPoolThread;
            if (handshake.Headers.ContainsKey("X-Block"))
            {
                BlockedOnThreadPool = Thread.CurrentThread.IsThreadPoolThread;
                _blocking.TrySetResult();
                _release.Wait(cancellationToken);
            }

            return ValueTask.FromResult(RelayAuthResult.Success(RelayUser.Anonymous));
        }
    }
}
