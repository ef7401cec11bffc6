using System.Net.Sockets;

namespace PeerRelay.Transport;

/// <summary>
/// A connection feature of the PeerRelay socket transports (<see cref="RelaySocketTransportWebHostBuilderExtensions.UseRelaySockets"/>,
/// <see cref="RelaySocketTransportWebHostBuilderExtensions.UseRelayEpoll"/>): the application reads the socket itself,
/// into its own buffer, instead of through the connection's <see cref="System.IO.Pipelines.PipeReader"/>. A read is
/// then one system call and no pipe result, sequence or awaitable per message; on the epoll transport the
/// application's callback runs on the event loop that saw the socket become readable. Writing is unchanged (the
/// connection's <see cref="System.IO.Pipelines.PipeWriter"/>).
/// </summary>
public interface IDirectReceiveFeature
{
    /// <summary>
    /// Switches the connection's input to direct reads. From then on the application must not read the connection's
    /// <see cref="System.IO.Pipelines.PipeReader"/> (completing it is still allowed). Bytes the pipe reader already
    /// holds (read past an upgrade request, say) are the first that <see cref="Receive"/> returns.
    /// </summary>
    /// <param name="onReadable">Called once for each wait <see cref="WaitReadable"/> started, when the socket has
    /// become readable, has failed or is being closed; on the transport's thread, which it must not block.</param>
    /// <returns>False when direct reads are not possible: a middleware wraps the connection's transport (TLS), or a
    /// pipe read is pending.</returns>
    bool TryStartDirectReceive(Action onReadable);

    /// <summary>
    /// Receives into <paramref name="buffer"/> without blocking. <see cref="SocketError.Success"/> with a count above
    /// zero: bytes arrived; with zero: the peer has sent FIN. <see cref="SocketError.WouldBlock"/>: nothing to read
    /// now (call <see cref="WaitReadable"/>). Any other error: the connection failed or is closed.
    /// </summary>
    /// <param name="buffer">Where the bytes go.</param>
    /// <param name="outcome">The outcome.</param>
    /// <returns>The number of bytes received.</returns>
    int Receive(Span<byte> buffer, out SocketError outcome);

    /// <summary>
    /// Starts waiting for the socket to become readable. True: the callback given to <see cref="TryStartDirectReceive"/>
    /// follows, once. False: there may be bytes to read already (the transport still holds some, the last receive
    /// filled its buffer, or they arrived meanwhile); receive again. After a receive that filled less than its buffer,
    /// a wait is what the next read needs (no receive that would only say "would block").
    /// </summary>
    /// <returns>Whether a wait was started.</returns>
    bool WaitReadable();
}
