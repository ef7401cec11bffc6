using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The byte stream under a <see cref="RedisLink"/> (and under its <see cref="System.Net.Security.SslStream"/>): reads
/// block (on the link owner's thread); writes never do. A write is tried at once with a non-blocking send
/// (<c>MSG_DONTWAIT</c> on Linux); what the socket does not take then (Redis slow or frozen, or another system) is kept,
/// in order, and sent by a pool thread with blocking sends bounded by the socket's send timeout. Later writes queue
/// behind it, so bytes leave in the order they were written. One writer at a time (the link's owner ensures it).
/// </summary>
internal sealed partial class LinkStream : Stream
{
    private const int EAgain = 11;
    private const int EIntr = 4;
    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;

    private readonly Socket _socket;
    private readonly SafeHandle _handle;
    private readonly Lock _lock = new();
    private RespBuffer? _overflow; // Under _lock: bytes written but not yet taken by the socket.
    private bool _flushing; // Under _lock: a pool thread sends the overflow; writes append to it.
    private volatile Exception? _failure;

    public LinkStream(Socket socket)
    {
        _socket = socket;
        _handle = socket.SafeHandle;
    }

    /// <summary>Gets why sending failed, if it did (the connection is then shut down).</summary>
    public Exception? Failure => _failure;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => _socket.Receive(buffer);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_failure is { } failure)
        {
            throw new IOException("Sending to Redis failed.", failure);
        }

        lock (_lock)
        {
            if (_flushing)
            {
                Append(buffer);
                return;
            }
        }

        var sent = OperatingSystem.IsLinux() ? SendNow(buffer) : 0;
        if (sent == buffer.Length)
        {
            return;
        }

        lock (_lock)
        {
            Append(buffer[sent..]);
            _flushing = true;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static stream => stream.FlushOverflow(), this, preferLocal: false);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_lock)
            {
                _overflow?.Dispose();
                _overflow = null;
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>Sends as much as the socket takes without waiting; returns how much.</summary>
    private int SendNow(ReadOnlySpan<byte> buffer)
    {
        var sent = 0;
        while (sent < buffer.Length)
        {
            var result = Send(_handle, ref MemoryMarshal.GetReference(buffer[sent..]), buffer.Length - sent, MsgDontWait | MsgNoSignal);
            if (result >= 0)
            {
                sent += (int)result;
                continue;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == EIntr)
            {
                continue;
            }

            if (errno != EAgain)
            {
                Fail(new SocketException(errno));
                return buffer.Length; // Dropped: the connection is shut down, its commands fail.
            }

            break;
        }

        return sent;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        _overflow ??= new RespBuffer(Math.Max(4096, bytes.Length));
        _overflow.WriteRaw(bytes);
    }

    /// <summary>Sends the overflow with blocking sends (a pool thread), until it is empty.</summary>
    private void FlushOverflow()
    {
        RespBuffer? sending = null;
        try
        {
            while (true)
            {
                lock (_lock)
                {
                    sending?.Clear();
                    if (_overflow is not { Count: > 0 } overflow)
                    {
                        _flushing = false;
                        sending?.Dispose();
                        return;
                    }

                    // Take the overflow; writes meanwhile go to the other buffer.
                    _overflow = sending;
                    sending = overflow;
                }

                var span = sending.Written;
                while (!span.IsEmpty)
                {
                    span = span[_socket.Send(span)..];
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Fail(ex);
            lock (_lock)
            {
                _flushing = false;
                _overflow?.Clear();
            }

            sending?.Dispose();
        }
    }

    private void Fail(Exception error)
    {
        _failure ??= error;
        try
        {
            _socket.Shutdown(SocketShutdown.Both); // The reader sees the end and fails the pending commands.
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint Send(SafeHandle socket, ref byte buffer, nint length, int flags);
}
