using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace PeerRelay.Transport.Internal;

/// <summary>Accepts connections on one listening socket and wraps each in a <see cref="RelaySocketConnection"/>.</summary>
internal sealed partial class RelaySocketListener(Socket listenSocket, RelaySocketTransportOptions options, ILogger logger, TransportMetrics metrics)
    : IConnectionListener
{
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly RelaySocketConnection.CloseSettings _closeSettings = new(options.CloseLingerTimeout, options.CloseLingerMaxBytes, metrics);

    public EndPoint EndPoint { get; } = listenSocket.LocalEndPoint!;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listenSocket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return null; // Unbound.
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return null; // Unbound.
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                metrics.AcceptError(ex.SocketErrorCode);
                Log.ResetBeforeAccept(logger, ex.SocketErrorCode);
                continue; // That client gave up; the listener goes on.
            }
            catch (SocketException ex)
            {
                // Out of descriptors or memory: the connection waits in the backlog. Back off instead of spinning on
                // a listening socket that stays readable.
                metrics.AcceptError(ex.SocketErrorCode);
                Log.AcceptFailed(logger, ex.SocketErrorCode, ex.Message, AcceptRetryDelay.TotalMilliseconds);
                await Task.Delay(AcceptRetryDelay, cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                socket.NoDelay = options.NoDelay;
                return new RelaySocketConnection(new NetSocket(socket), options.ReadBufferSize, _closeSettings);
            }
            catch (SocketException ex)
            {
                // Reset by the client between accept and set-up: that connection is lost, the listener goes on (an
                // exception out of here would end Kestrel's accept loop).
                metrics.AcceptError(ex.SocketErrorCode);
                Log.ResetBeforeAccept(logger, ex.SocketErrorCode);
                socket.Dispose();
            }
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        listenSocket.Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        listenSocket.Dispose();
        return ValueTask.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "A connection was reset before it was accepted ({Error})")]
        public static partial void ResetBeforeAccept(ILogger logger, SocketError error);

        [LoggerMessage(2, LogLevel.Warning, "Accepting a connection failed ({Error}: {Why}); retrying in {Milliseconds} ms")]
        public static partial void AcceptFailed(ILogger logger, SocketError error, string why, double milliseconds);
    }
}
