using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace PeerRelay.Transport.Internal;

/// <summary>
/// A .NET <see cref="Socket"/> as a <see cref="TransportSocket"/>: a wait is a zero-byte receive and an asynchronous
/// send a <see cref="Socket.SendAsync(ReadOnlyMemory{byte}, SocketFlags, CancellationToken)"/>, both completed by the
/// runtime's socket event threads.
/// </summary>
internal sealed class NetSocket : TransportSocket
{
    private readonly Socket _socket;
    private ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter _wait;
    private ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter _send;
    private Exception? _waitError;
    private Action? _onReadable;
    private Action? _onSent;

    public NetSocket(Socket socket)
    {
        _socket = socket;
        socket.Blocking = false; // Reads and writes try the kernel first and never block a thread.
        RemoteEndPoint = socket.RemoteEndPoint;
    }

    public override EndPoint? RemoteEndPoint { get; }

    public override EndPoint? LocalEndPoint
    {
        get
        {
            try
            {
                return _socket.LocalEndPoint;
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
        }
    }

    public override int Available => _socket.Available;

    public override int Receive(Span<byte> buffer, out SocketError error)
    {
        try
        {
            return _socket.Receive(buffer, SocketFlags.None, out error);
        }
        catch (ObjectDisposedException)
        {
            error = SocketError.OperationAborted; // Aborted meanwhile (another thread closed the socket).
            return 0;
        }
    }

    public override int Send(ReadOnlySpan<byte> buffer, out SocketError error)
    {
        try
        {
            return _socket.Send(buffer, SocketFlags.None, out error);
        }
        catch (ObjectDisposedException)
        {
            error = SocketError.OperationAborted;
            return 0;
        }
    }

    public override bool StartWaitReadable()
    {
        ValueTask<int> wait;
        try
        {
            wait = _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            _waitError = ex;
            return false;
        }

        _wait = wait.ConfigureAwait(false).GetAwaiter();
        if (_wait.IsCompleted)
        {
            return false;
        }

        _wait.UnsafeOnCompleted(_onReadable ??= Reader!.OnReadable);
        return true;
    }

    public override Exception? EndWaitReadable()
    {
        var error = _waitError;
        _waitError = null;
        try
        {
            _wait.GetResult();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            error ??= ex;
        }

        _wait = default;
        return error;
    }

    public override void StartSend(byte[] buffer, int offset, int count)
    {
        ValueTask<int> send;
        try
        {
            send = _socket.SendAsync(buffer.AsMemory(offset, count), SocketFlags.None);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            send = ValueTask.FromException<int>(ex);
        }

        _send = send.ConfigureAwait(false).GetAwaiter();
        _send.UnsafeOnCompleted(_onSent ??= Writer!.OnSent);
    }

    public override Exception? EndSend()
    {
        Exception? error = null;
        try
        {
            _send.GetResult();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            error = ex;
        }

        _send = default;
        return error;
    }

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public override void Shutdown(SocketShutdown how)
    {
        try
        {
            _socket.Shutdown(how);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already reset by the peer.
        }
    }

    public override void ResetOnClose()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already gone: closing does what is left.
        }
    }

    public override void Close() => _socket.Dispose();
}
