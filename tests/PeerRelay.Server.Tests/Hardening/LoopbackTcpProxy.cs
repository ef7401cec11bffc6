using System.Net;
using System.Net.Sockets;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>
/// A loopback TCP proxy between a client and the relay that a test can freeze: it then stops forwarding in both
/// directions without closing anything, so each side sees a peer that vanished without a FIN (half-open TCP).
/// </summary>
internal sealed class LoopbackTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _sockets = [];
    private readonly Lock _lock = new();
    private readonly Task _acceptLoop;
    private volatile bool _frozen;

    public LoopbackTcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Stops forwarding bytes; connections stay open.</summary>
    public void Freeze() => _frozen = true;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_lock)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var server = new TcpClient();
            await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            lock (_lock)
            {
                _sockets.Add(client);
                _sockets.Add(server);
            }

            _ = PumpAsync(client.GetStream(), server.GetStream());
            _ = PumpAsync(server.GetStream(), client.GetStream());
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer, _stop.Token);
                if (n == 0 || _frozen)
                {
                    // Frozen: swallow everything from now on and never close, like a peer whose cable was cut.
                    if (n == 0)
                    {
                        to.Socket.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    continue;
                }

                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }
}
