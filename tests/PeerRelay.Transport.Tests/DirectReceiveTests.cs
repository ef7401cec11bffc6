using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using PeerRelay.Testing;

namespace PeerRelay.Transport.Tests;

/// <summary>
/// <see cref="IDirectReceiveFeature"/> on both transports: what the pipe reader held comes first, then the kernel's
/// bytes; a wait calls back once when bytes, the FIN or the close arrive; not offered under a wrapping transport (TLS)
/// or while a pipe read is pending.
/// </summary>
public sealed class DirectReceiveTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DirectReads_GetWhatThePipeHeldFirst_ThenWaitForTheKernel_AndSeeTheFin(bool epoll)
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.FromSeconds(2));
        var (client, connection) = await accepted.ConnectAsync();
        using var _ = client;
        await using var __ = connection;

        // An upgrade's head read through the pipe, with the first bytes after it already in the reader's buffer.
        await client.SendAsync("head|rest"u8.ToArray()).WithTimeout();
        var input = connection.Transport.Input;
        var read = await ReadAtLeastAsync(input, 9);
        input.AdvanceTo(read.Buffer.GetPosition(5), read.Buffer.End);

        var direct = Assert.IsAssignableFrom<IDirectReceiveFeature>(connection.Features.Get<IDirectReceiveFeature>());
        var readable = new Signal();
        Assert.True(direct.TryStartDirectReceive(readable.Set));
        Assert.False(direct.TryStartDirectReceive(readable.Set)); // Once.

        var buffer = new byte[64];
        Assert.False(direct.WaitReadable()); // The reader still holds bytes: no wait, receive them.
        Assert.Equal("rest", Receive(direct, buffer, SocketError.Success));
        Assert.Equal(string.Empty, Receive(direct, buffer, SocketError.WouldBlock));

        for (var i = 0; i < 20; i++)
        {
            var wait = readable.Next();
            Assert.True(direct.WaitReadable());
            await client.SendAsync(Encoding.ASCII.GetBytes($"m{i}")).WithTimeout();
            await wait.WithTimeout();
            Assert.Equal($"m{i}", Receive(direct, buffer, SocketError.Success));
        }

        client.Shutdown(SocketShutdown.Send);
        await WaitForFinAsync(direct, readable, buffer);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Wait_WhenTheConnectionIsAborted_CallsBack_AndTheReceiveFails(bool epoll)
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.Zero);
        var (client, connection) = await accepted.ConnectAsync();
        using var _ = client;
        await using var __ = connection;
        var direct = connection.Features.Get<IDirectReceiveFeature>()!;
        var readable = new Signal();
        Assert.True(direct.TryStartDirectReceive(readable.Set));
        Assert.Equal(string.Empty, Receive(direct, new byte[16], SocketError.WouldBlock));

        var wait = readable.Next();
        Assert.True(direct.WaitReadable());
        connection.Abort();
        await wait.WithTimeout();
        direct.Receive(new byte[16], out var outcome);
        Assert.NotEqual(SocketError.Success, outcome);
        Assert.NotEqual(SocketError.WouldBlock, outcome);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NotOffered_UnderAWrappingTransport_OrWhileAPipeReadIsPending(bool epoll)
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.Zero);
        var (client, connection) = await accepted.ConnectAsync();
        var (otherClient, other) = await accepted.ConnectAsync();
        using var _ = client;
        using var __ = otherClient;
        await using var ___ = connection;
        await using var ____ = other;

        // A TLS layer sets the connection's transport to its own pipe: reading the socket would bypass it.
        var socketPipe = connection.Transport;
        connection.Transport = new WrappedPipe(socketPipe.Input, socketPipe.Output);
        Assert.False(connection.Features.Get<IDirectReceiveFeature>()!.TryStartDirectReceive(static () => { }));
        connection.Transport = socketPipe;

        var pending = other.Transport.Input.ReadAsync();
        Assert.False(other.Features.Get<IDirectReceiveFeature>()!.TryStartDirectReceive(static () => { }));
        await otherClient.SendAsync(new byte[] { 1 }).WithTimeout();
        Assert.Equal(1, (await pending.AsTask().WithTimeout()).Buffer.Length);
    }

    private static string Receive(IDirectReceiveFeature direct, byte[] buffer, SocketError expected)
    {
        var n = direct.Receive(buffer, out var outcome);
        Assert.Equal(expected, outcome);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    private static async Task WaitForFinAsync(IDirectReceiveFeature direct, Signal readable, byte[] buffer)
    {
        while (true)
        {
            var n = direct.Receive(buffer, out var outcome);
            if (outcome == SocketError.Success)
            {
                Assert.Equal(0, n);
                return;
            }

            Assert.Equal(SocketError.WouldBlock, outcome);
            var wait = readable.Next();
            if (direct.WaitReadable())
            {
                await wait.WithTimeout();
            }
        }
    }

    private static async Task<ReadResult> ReadAtLeastAsync(PipeReader input, int count)
    {
        while (true)
        {
            var result = await input.ReadAsync().AsTask().WithTimeout();
            if (result.Buffer.Length >= count)
            {
                return result;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>The callback's calls, awaitable one at a time.</summary>
    private sealed class Signal
    {
        private volatile TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Next()
        {
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _next.Task;
        }

        public void Set() => _next.TrySetResult();
    }
}
