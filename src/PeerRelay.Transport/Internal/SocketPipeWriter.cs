using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace PeerRelay.Transport.Internal;

/// <summary>
/// Writes a non-blocking socket as a <see cref="PipeWriter"/>: a flush sends on the flushing thread and completes at
/// once when the kernel takes every byte (the usual case). Only when the kernel's buffer is full does the rest go out
/// with an asynchronous send, and the flush completes when it has; a flush while that send is in flight queues its
/// bytes behind it. Buffers are rented for a write and returned once sent, so an idle connection holds none. The
/// producer's buffer (<see cref="GetSpan"/>, <see cref="Advance"/>) is its own: the send completion never touches it.
/// </summary>
internal sealed class SocketPipeWriter : PipeWriter, IValueTaskSource<FlushResult>
{
    private static readonly Action<object?, CancellationToken> s_onFlushCancelled = static (state, token) =>
    {
        var writer = (SocketPipeWriter)state!;
        writer._flush.Cancel(writer._socket, token);
    };

    private readonly TransportSocket _socket;
    private PendingOperation<FlushResult> _flush; // What a FlushAsync waits on.
    private byte[]? _buffer; // Written, not yet flushed (the producer's).
    private int _written;
    private byte[]? _sending; // Handed to an asynchronous send.
    private byte[]? _next; // Flushed while _sending was in flight: sent after it.
    private int _nextCount;
    private bool _cancelRequested;
    private bool _completed;
    private Exception? _error;

    public SocketPipeWriter(Socket socket)
        : this(new NetSocket(socket))
    {
    }

    /// <summary>Writes <paramref name="socket"/>, under a lock on the socket (shared with its reader and connection).</summary>
    public SocketPipeWriter(TransportSocket socket)
    {
        _socket = socket;
        socket.Writer = this;
    }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written;

    public override Memory<byte> GetMemory(int sizeHint = 0) => EnsureCapacity(sizeHint).AsMemory(_written);

    public override Span<byte> GetSpan(int sizeHint = 0) => EnsureCapacity(sizeHint).AsSpan(_written);

    public override void Advance(int bytes)
    {
        if (bytes < 0 || _buffer is null || _written + bytes > _buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "Advanced past the memory handed out.");
        }

        _written += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        lock (_socket)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (_flush.IsPending)
            {
                throw new InvalidOperationException("A flush is already pending.");
            }

            if (_cancelRequested)
            {
                _cancelRequested = false;
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
            }

            CommitLocked();
            if (_sending is null)
            {
                // Sent; or the connection is gone (the reader sees why), which a flush reports as completed.
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: _error is not null));
            }

            // The kernel's buffer is full: the flush completes when the asynchronous send (and what follows it) has.
            _flush.Begin();
            _flush.CancelOn(this, s_onFlushCancelled, cancellationToken);

            return new ValueTask<FlushResult>(this, _flush.Version);
        }
    }

    public override void CancelPendingFlush()
    {
        lock (_socket)
        {
            if (!_flush.TryEnd())
            {
                _cancelRequested = true;
                return;
            }
        }

        _flush.SetResult(new FlushResult(isCanceled: true, isCompleted: false));
    }

    public override void Complete(Exception? exception = null)
    {
        lock (_socket)
        {
            if (_completed)
            {
                return;
            }

            // What was written is still sent (without blocking) unless the writer failed; an asynchronous send in
            // flight finishes on its own, sends what queued behind it and returns its buffers.
            if (exception is null)
            {
                CommitLocked();
            }

            _completed = true;
            ReturnLocked(ref _buffer);
            _written = 0;
        }
    }

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => _flush.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _flush.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _flush.OnCompleted(continuation, state, token, flags);

    private byte[] EnsureCapacity(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        var needed = _written + Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(needed, 4096));
        }
        else if (needed > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
            Buffer.BlockCopy(_buffer, 0, larger, 0, _written);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        return _buffer;
    }

    /// <summary>Hands what the producer wrote to the socket: sent now, or queued behind an asynchronous send in flight.</summary>
    private void CommitLocked()
    {
        if (_written == 0 || _error is not null)
        {
            return;
        }

        var buffer = _buffer!;
        var count = _written;
        _buffer = null;
        _written = 0;
        if (_sending is null)
        {
            SendLocked(buffer, count);
        }
        else if (_next is null)
        {
            _next = buffer;
            _nextCount = count;
        }
        else
        {
            if (_nextCount + count > _next.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(_nextCount + count);
                Buffer.BlockCopy(_next, 0, larger, 0, _nextCount);
                ArrayPool<byte>.Shared.Return(_next);
                _next = larger;
            }

            Buffer.BlockCopy(buffer, 0, _next, _nextCount, count);
            _nextCount += count;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Sends <paramref name="buffer"/> without blocking; what the kernel does not take goes out asynchronously.</summary>
    private void SendLocked(byte[] buffer, int count)
    {
        var offset = 0;
        while (offset < count)
        {
            var sent = _socket.Send(buffer.AsSpan(offset, count - offset), out var error);

            if (error == SocketError.Success)
            {
                offset += sent;
            }
            else if (error is SocketError.WouldBlock or SocketError.Interrupted)
            {
                StartSendLocked(buffer, offset, count - offset);
                return;
            }
            else
            {
                _error ??= new IOException($"Sending failed: {error}.", new SocketException((int)error));
                break;
            }
        }

        ArrayPool<byte>.Shared.Return(buffer);
    }

    private void StartSendLocked(byte[] buffer, int offset, int count)
    {
        _sending = buffer;
        _socket.StartSend(buffer, offset, count);
    }

    /// <summary>The send <see cref="TransportSocket.StartSend"/> started has ended (any thread).</summary>
    internal void OnSent()
    {
        bool gone;
        lock (_socket)
        {
            if (_socket.EndSend() is { } failed)
            {
                _error ??= new IOException(failed.Message, failed);
            }
            ReturnLocked(ref _sending);
            if (_next is { } next)
            {
                _next = null;
                if (_error is null)
                {
                    SendLocked(next, _nextCount);
                }
                else
                {
                    ArrayPool<byte>.Shared.Return(next);
                }

                if (_sending is not null)
                {
                    return; // More than the kernel takes again: wait on.
                }
            }

            if (!_flush.TryEnd())
            {
                return; // No flush waits: cancelled meanwhile, or the writer completed.
            }

            gone = _error is not null;
        }

        // Outside the lock: the flusher's continuation runs inline from here.
        _flush.SetResult(new FlushResult(isCanceled: false, isCompleted: gone));
    }

    private static void ReturnLocked(ref byte[]? buffer)
    {
        if (buffer is { } rented)
        {
            buffer = null;
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
