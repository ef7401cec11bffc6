namespace PeerRelay.Transport;

/// <summary>
/// A connection feature of the PeerRelay socket transports (<see cref="RelaySocketTransportWebHostBuilderExtensions.UseRelaySockets"/>,
/// <see cref="RelaySocketTransportWebHostBuilderExtensions.UseRelayEpoll"/>): the application hands a whole buffer of
/// its own (a frame on its stack, say) straight to the socket, in place of writing it to the connection's
/// <see cref="System.IO.Pipelines.PipeWriter"/> and flushing: one system call, no buffer rented for the write. Order is
/// kept with what goes through the writer: the bytes are sent at once only when nothing written before them is still
/// to go out.
/// </summary>
public interface IDirectSendFeature
{
    /// <summary>
    /// Sends <paramref name="data"/> without blocking. True: the kernel took all of it. False: what was not sent (all
    /// of it when bytes written before are still unflushed or being sent, when the socket has failed, or when a
    /// middleware such as TLS wraps the connection's transport; otherwise what the kernel did not take) has been
    /// written, unflushed, to the connection's transport output as <see cref="System.IO.Pipelines.PipeWriter.GetSpan"/>
    /// and <see cref="System.IO.Pipelines.PipeWriter.Advance"/> would: flush it as usual, and the flush tells whether
    /// the connection is gone or the reader is slow.
    /// </summary>
    /// <param name="data">The bytes to send; not kept after the call.</param>
    /// <returns>Whether every byte was sent.</returns>
    bool TrySend(ReadOnlySpan<byte> data);
}
