using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerRelay.Testing;
using PeerRelay.Transport.Internal;
using PeerRelay.Transport.Internal.Epoll;

namespace PeerRelay.Transport.Tests;

/// <summary>The epoll transport's own behaviour: event-loop pipelines, first-bytes time-out, data over a full socket buffer, closing with bytes unread.</summary>
public sealed class EpollTransportTests
{
    [Fact]
    public async Task EventLoopPipeline_ServesWhatItTakesOnTheLoop_AndHandsTheRestToKestrelUnread()
    {
        await using var app = await StartAsync(TimeSpan.FromSeconds(30));

        // Taken by the pipeline: answered on the event loop's thread, no Kestrel connection.
        using var raw = new TcpClient();
        await raw.ConnectAsync(IPAddress.Loopback, Port(app)).WithTimeout();
        await raw.GetStream().WriteAsync("PING\n"u8.ToArray()).AsTask().WithTimeout();
        var answer = await ReadToEndAsync(raw.GetStream());
        Assert.StartsWith("PONG PeerRelay epoll ", answer, StringComparison.Ordinal);

        // Passed on: Kestrel reads the request from its first byte, on the same endpoint; keep-alive works.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port(app)}/") };
        Assert.Equal("pong", await http.GetStringAsync(new Uri("ping", UriKind.Relative)).WithTimeout());
        Assert.Equal("pong", await http.GetStringAsync(new Uri("ping", UriKind.Relative)).WithTimeout());
    }

    [Fact]
    public async Task EventLoopPipeline_ConnectionThatSendsNothing_RunsAfterTheTimeout_WithNothingToRead()
    {
        await using var app = await StartAsync(TimeSpan.FromMilliseconds(200));
        using var raw = new TcpClient();
        await raw.ConnectAsync(IPAddress.Loopback, Port(app)).WithTimeout();
        Assert.Equal("SILENT\n", await ReadToEndAsync(raw.GetStream()));
    }

    [Fact]
    public async Task EventLoop_ForgetsANewConnection_OnceItHasSpoken_NotAtItsTimeout()
    {
        // While a connection is timed out for its first bytes the loop waits with a time-out, which arms a kernel timer
        // for every sleep; one that has spoken must not keep that up until its deadline (30 s here).
        var served = new TaskCompletionSource<EpollLoop>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(TimeSpan.FromSeconds(30), loop => served.TrySetResult(loop));
        using var raw = new TcpClient();
        await raw.ConnectAsync(IPAddress.Loopback, Port(app)).WithTimeout();
        var stream = raw.GetStream();
        await stream.WriteAsync("HOLD\n"u8.ToArray()).AsTask().WithTimeout();
        var answer = new byte[5];
        await stream.ReadExactlyAsync(answer).AsTask().WithTimeout();
        Assert.Equal("HELD\n"u8.ToArray(), answer);

        // Still open (a closed one is dropped anyway): forgotten because it has started.
        var loop = await served.Task.WithTimeout();
        await TaskTimeoutExtensions.WaitUntil(() => loop.FirstBytesWatched == 0, TimeSpan.FromSeconds(10));

        raw.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal(string.Empty, await ReadToEndAsync(stream));
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1", "127.0.0.1")]
    [InlineData("::", "127.0.0.1", "::ffff:127.0.0.1")] // Dual-mode: an IPv4 client arrives IPv4-mapped.
    [InlineData("::", "::1", "::1")]
    [InlineData("::1", "::1", "::1")]
    public async Task RemoteEndPoint_IsTheClientsAddressAndPort_OnBothTransports(string listen, string from, string seen)
    {
        foreach (var epoll in new[] { false, true })
        {
            await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.Zero, IPAddress.Parse(listen));
            var (client, connection) = await accepted.ConnectAsync(IPAddress.Parse(from));
            using (client)
            await using (connection)
            {
                var remote = Assert.IsType<IPEndPoint>(connection.RemoteEndPoint);
                Assert.Equal(IPAddress.Parse(seen), remote.Address);
                Assert.Equal(((IPEndPoint)client.LocalEndPoint!).Port, remote.Port);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Flush_LargerThanTheSocketBuffers_CompletesWhenTheClientHasReadIt(bool epoll)
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.FromSeconds(2));
        var (client, connection) = await accepted.ConnectAsync();
        using var _ = client;
        await using var __ = connection;
        var body = new byte[8 << 20];
        new Random(3).NextBytes(body);
        var flush = connection.Transport.Output.WriteAsync(body).AsTask();
        var received = new byte[body.Length];
        var read = 0;
        while (read < received.Length)
        {
            var n = await client.ReceiveAsync(received.AsMemory(read)).WithTimeout();
            Assert.NotEqual(0, n);
            read += n;
        }

        Assert.False((await flush.WithTimeout()).IsCompleted);
        Assert.Equal(body, received);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reads_AfterAShortRead_WaitForTheNextBytes_AndSeeTheFin(bool epoll)
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.FromSeconds(2));
        var (client, connection) = await accepted.ConnectAsync();
        using var _ = client;
        await using var __ = connection;
        var input = connection.Transport.Input;
        for (var i = 0; i < 50; i++)
        {
            var pending = input.ReadAsync();
            await client.SendAsync(new[] { (byte)i }).WithTimeout();
            var result = await pending.AsTask().WithTimeout();
            Assert.Equal(new[] { (byte)i }, result.Buffer.ToArray());
            input.AdvanceTo(result.Buffer.End);
        }

        client.Shutdown(SocketShutdown.Send);
        var end = await input.ReadAsync().AsTask().WithTimeout();
        Assert.True(end.IsCompleted);
        Assert.True(end.Buffer.IsEmpty);
    }

    [Fact]
    public async Task Read_LastBytesAndFinReportedInOneEdge_SeesTheFinAfterTheBytes()
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll: true, TimeSpan.FromSeconds(2));
        var (holderClient, holder) = await accepted.ConnectAsync();
        var (client, connection) = await accepted.ConnectAsync();
        using var _ = holderClient;
        using var __ = client;
        await using var ___ = holder;
        await using var ____ = connection;

        // Hold the (one) event loop: the holder's read continues inline on it and blocks there until released, so the
        // last bytes and the FIN below arrive while the loop is busy and are reported together, in one edge.
        using var release = new ManualResetEventSlim();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = HoldLoopAsync(holder, held, release);
        await holderClient.SendAsync(new byte[1]).WithTimeout();
        await held.Task.WithTimeout();
        await client.SendAsync(new byte[10]).WithTimeout();
        client.Shutdown(SocketShutdown.Send);
        release.Set();
        await holding.WithTimeout();

        // One more byte to the holder: once the loop has handled it, it has handled the earlier edge too (in order).
        var marker = holder.Transport.Input.ReadAsync();
        await holderClient.SendAsync(new byte[1]).WithTimeout();
        await marker.AsTask().WithTimeout();

        var input = connection.Transport.Input;
        var bytes = await input.ReadAsync().AsTask().WithTimeout();
        Assert.Equal(10, bytes.Buffer.Length);
        input.AdvanceTo(bytes.Buffer.End);

        // The short read of those bytes must not make the next read wait for an edge that will never come.
        var end = await input.ReadAsync().AsTask().WithTimeout();
        Assert.True(end.IsCompleted);
    }

    private static async Task HoldLoopAsync(RelaySocketConnection holder, TaskCompletionSource held, ManualResetEventSlim release)
    {
        var result = await holder.Transport.Input.ReadAsync().ConfigureAwait(false);
        held.SetResult();
        release.Wait();
        holder.Transport.Input.AdvanceTo(result.Buffer.End);
    }

    private static int Port(WebApplication app) =>
        new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

    private static async Task<string> ReadToEndAsync(NetworkStream stream)
    {
        var text = new StringBuilder();
        var buffer = new byte[256];
        int n;
        while ((n = await stream.ReadAsync(buffer).AsTask().WithTimeout()) > 0)
        {
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return text.ToString();
    }

    /// <summary>
    /// Kestrel on the epoll transport with one endpoint whose event-loop pipeline answers "PING" itself, holds a
    /// "HOLD" connection open until the client's FIN (telling <c>onHold</c> the loop it runs on), and passes anything
    /// else on.
    /// </summary>
    private static async Task<WebApplication> StartAsync(TimeSpan firstBytesTimeout, Action<EpollLoop>? onHold = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseRelayEpoll(o => o.EventLoops = 2);
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseEventLoop(
            pipeline => pipeline.Use(next => async context =>
            {
                var input = context.Transport.Input;
                if (!input.TryRead(out var result))
                {
                    await context.Transport.Output.WriteAsync("SILENT\n"u8.ToArray());
                    return;
                }

                if (result.Buffer.FirstSpan.StartsWith("HOLD"u8))
                {
                    // Answers, tells the test its loop, and stays open until the client's FIN.
                    input.AdvanceTo(result.Buffer.End);
                    onHold?.Invoke(EpollLoop.Current!);
                    await context.Transport.Output.WriteAsync("HELD\n"u8.ToArray());
                    ReadResult read;
                    do
                    {
                        read = await input.ReadAsync();
                        input.AdvanceTo(read.Buffer.End);
                    }
                    while (!read.IsCompleted);

                    return;
                }

                if (result.Buffer.FirstSpan.StartsWith("PING"u8))
                {
                    input.AdvanceTo(result.Buffer.End);
                    await context.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes($"PONG {Thread.CurrentThread.Name}\n"));
                    return;
                }

                input.AdvanceTo(result.Buffer.Start, result.Buffer.Start);
                await next(context);
            }),
            firstBytesTimeout)));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/ping", () => "pong");
        await app.StartAsync();
        return app;
    }
}
