using System.Net;
using System.Net.Sockets;

namespace PeerRelay.Testing;

/// <summary>
/// A loopback TCP proxy between a client and a server that a test can cut: <see cref="CutAll"/> resets every
/// connection at once (an abrupt drop, no close frames), <see cref="RejectNew"/> resets new connections as they
/// arrive (a dead path). Modelled on nats.net's NatsProxy.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<(Socket Client, Socket Server)> _pairs = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _acceptWaiters = [];
    private readonly Task _acceptLoop;
    private readonly TaskCompletionSource _blackholed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _accepted;

    private TcpProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Gets the port the proxy listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>Gets <c>ws://127.0.0.1:PORT/</c>, the address a WebSocket client uses to go through the proxy.</summary>
    public Uri WebSocketUri => new($"ws://127.0.0.1:{Port}/");

    /// <summary>Gets how many client connections the proxy has accepted so far (including rejected ones).</summary>
    public int AcceptedConnections => Volatile.Read(ref _accepted);

    /// <summary>Gets how many connections are being relayed now.</summary>
    public int ActiveConnections
    {
        get
        {
            lock (_lock)
            {
                return _pairs.Count;
            }
        }
    }

    /// <summary>
    /// Blackholes every relayed connection: the proxy stops reading and forwarding in both directions and closes
    /// nothing, like a network path that vanished (half-open TCP). Each end's sends fill the kernel buffers, then stall.
    /// </summary>
    public void Blackhole() => _blackholed.TrySetResult();

    /// <summary>Gets or sets a value indicating whether new connections are reset as soon as they are accepted.</summary>
    public bool RejectNew { get; set; }

    /// <summary>Starts a proxy on 127.0.0.1 (a free port) that forwards to <paramref name="target"/>.</summary>
    public static TcpProxy Start(IPEndPoint target) => new(target);

    /// <summary>Starts a proxy that forwards to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public static TcpProxy Start(int targetPort) => new(new IPEndPoint(IPAddress.Loopback, targetPort));

    /// <summary>Starts a proxy that forwards to the host and port of <paramref name="target"/> (e.g. a relay's ws:// address).</summary>
    public static TcpProxy Start(Uri target) => new(new IPEndPoint(IPAddress.Parse(target.Host), target.Port));

    /// <summary>Completes once the proxy has accepted at least <paramref name="count"/> connections in total.</summary>
    public Task WaitForAcceptedAsync(int count)
    {
        lock (_lock)
        {
            if (_accepted >= count)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _acceptWaiters.Add((count, signal));
            return signal.Task;
        }
    }

    /// <summary>Resets every relayed connection on both sides at once (TCP RST, no close handshake).</summary>
    /// <returns>How many connections were cut.</returns>
    public int CutAll()
    {
        List<(Socket Client, Socket Server)> pairs;
        lock (_lock)
        {
            pairs = [.. _pairs];
            _pairs.Clear();
        }

        foreach (var (client, server) in pairs)
        {
            Reset(client);
            Reset(server);
        }

        return pairs.Count;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        CutAll();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // Close sends RST instead of FIN.
            socket.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            client.NoDelay = true;
            lock (_lock)
            {
                _accepted++;
                for (var i = _acceptWaiters.Count - 1; i >= 0; i--)
                {
                    if (_accepted >= _acceptWaiters[i].Count)
                    {
                        _acceptWaiters[i].Signal.TrySetResult();
                        _acceptWaiters.RemoveAt(i);
                    }
                }
            }

            if (RejectNew)
            {
                Reset(client);
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Reset(client);
            server.Dispose();
            return;
        }

        var pair = (client, server);
        lock (_lock)
        {
            _pairs.Add(pair);
        }

        // A FIN is passed on as a FIN (half-close); an error on either side resets both.
        await Task.WhenAll(PumpAsync(client, server), PumpAsync(server, client));
        lock (_lock)
        {
            _pairs.Remove(pair);
        }

        client.Dispose();
        server.Dispose();
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                if (_blackholed.Task.IsCompleted)
                {
                    // Stop reading: what the ends send piles up in the kernel buffers, and nothing is ever closed.
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                }

                var n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (_blackholed.Task.IsCompleted)
                {
                    continue; // Read just as the path died: dropped.
                }

                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Reset(from);
            Reset(to);
        }
        catch (OperationCanceledException)
        {
            // Disposed while blackholed; DisposeAsync resets the sockets.
        }
    }
}
