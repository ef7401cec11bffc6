using System.Net;
using System.Net.Sockets;

namespace PeerRelay.Transport.Internal;

/// <summary>
/// The kernel socket under a <see cref="SocketPipeReader"/>, <see cref="SocketPipeWriter"/> and
/// <see cref="RelaySocketConnection"/>: non-blocking receive and send, a wait for readability, an asynchronous send of
/// what the kernel did not take, and what closing needs. <see cref="NetSocket"/> is a .NET <see cref="Socket"/> (the
/// runtime's event threads wait); <see cref="Epoll.EpollSocket"/> a bare descriptor on one of the transport's own epoll
/// loops. Data-path members run under the connection's lock, which is a lock on the socket object itself (a thin
/// monitor lock: no lock object per connection; nothing outside the transport locks on a socket).
/// </summary>
internal abstract class TransportSocket
{
    /// <summary>Gets or sets the reader told when a wait (<see cref="StartWaitReadable"/>) ends.</summary>
    public SocketPipeReader? Reader { get; set; }

    /// <summary>Gets or sets the writer told when an asynchronous send (<see cref="StartSend"/>) ends.</summary>
    public SocketPipeWriter? Writer { get; set; }

    /// <summary>Gets the peer's address, as accepted.</summary>
    public abstract EndPoint? RemoteEndPoint { get; }

    /// <summary>Gets the local address; null once closed.</summary>
    public abstract EndPoint? LocalEndPoint { get; }

    /// <summary>Gets the bytes the kernel holds unread (throws <see cref="SocketException"/> or <see cref="ObjectDisposedException"/>).</summary>
    public abstract int Available { get; }

    /// <summary>Receives what the kernel holds without blocking (0 with <see cref="SocketError.Success"/>: the peer's FIN).</summary>
    public abstract int Receive(Span<byte> buffer, out SocketError error);

    /// <summary>Sends without blocking; what the kernel did not take is the caller's (<see cref="SocketError.WouldBlock"/> when nothing).</summary>
    public abstract int Send(ReadOnlySpan<byte> buffer, out SocketError error);

    /// <summary>
    /// Starts waiting for the socket to become readable: true when waiting (the <see cref="Reader"/>'s
    /// <see cref="SocketPipeReader.OnReadable"/> follows, on any thread); false when it is readable already or the wait
    /// could not start (<see cref="EndWaitReadable"/> says why).
    /// </summary>
    public abstract bool StartWaitReadable();

    /// <summary>Ends a wait: null, or the error it ended with.</summary>
    public abstract Exception? EndWaitReadable();

    /// <summary>Sends <paramref name="count"/> bytes asynchronously: the <see cref="Writer"/>'s <see cref="SocketPipeWriter.OnSent"/> follows when all went out or it failed.</summary>
    public abstract void StartSend(byte[] buffer, int offset, int count);

    /// <summary>Ends an asynchronous send: null, or the error it ended with.</summary>
    public abstract Exception? EndSend();

    /// <summary>Receives asynchronously (closing's linger reads through it; not while the reader waits).</summary>
    public abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Shuts down one or both directions; errors (already reset) are ignored.</summary>
    public abstract void Shutdown(SocketShutdown how);

    /// <summary>Makes <see cref="Close"/> reset the connection (<c>SO_LINGER</c> 0); errors are ignored.</summary>
    public abstract void ResetOnClose();

    /// <summary>Releases the socket: pending and later operations fail.</summary>
    public abstract void Close();
}
