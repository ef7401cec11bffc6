using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using PeerRelay.Internal;

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
        writer._blocked!.Flush.Cancel(writer._socket, token);
    };

    private readonly TransportSocket _socket;
    private byte[]? _buffer; // Written, not yet flushed (the producer's).
    private int _written;
    private Blocked? _blocked; // Made when the kernel's buffer first fills up (for most connections never), then kept.
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
            if (_blocked is { } pending && pending.Flush.IsPending)
            {
                throw new InvalidOperationException("A flush is already pending.");
            }

            if (_cancelRequested)
            {
                _cancelRequested = false;
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
            }

            CommitLocked();
            if (_blocked?.Sending is not { })
            {
                // Sent; or the connection is gone (the reader sees why), which a flush reports as completed.
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: _error is not null));
            }

            // The kernel's buffer is full: the flush completes when the asynchronous send (and what follows it) has.
            var blocked = _blocked!;
            blocked.Flush.Begin();
            blocked.Flush.CancelOn(this, s_onFlushCancelled, cancellationToken);

            return new ValueTask<FlushResult>(this, blocked.Flush.Version);
        }
    }

    /// <summary>
    /// Sends <paramref name="data"/> at once when nothing is ahead of it (no unflushed bytes, no send in flight, no
    /// failure); what is not sent is written behind what is, unflushed (<see cref="IDirectSendFeature.TrySend"/>).
    /// </summary>
    public bool TrySendNow(ReadOnlySpan<byte> data)
    {
        lock (_socket)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (_written == 0 && _blocked?.Sending is null && _error is null)
            {
                while (true)
                {
                    var sent = _socket.Send(data, out var error);
                    if (error != SocketError.Success)
                    {
                        if (error is not (SocketError.WouldBlock or SocketError.Interrupted))
                        {
                            // Gone: nothing is kept for a socket that cannot send, and the flush reports it.
                            _error ??= new IOException($"Sending failed: {error}.", new SocketException((int)error));
                            return false;
                        }

                        break; // The kernel's buffer is full: the rest goes out with the flush.
                    }

                    data = data[sent..];
                    if (data.IsEmpty)
                    {
                        return true;
                    }
                }
            }
            else if (_error is not null)
            {
                return false;
            }
        }

        // The producer's buffer is the producer's own (not the send completion's): no lock, as GetSpan and Advance.
        this.Write(data);
        return false;
    }

    public override void CancelPendingFlush()
    {
        Blocked? blocked;
        lock (_socket)
        {
            blocked = _blocked;
            if (blocked is null || !blocked.Flush.TryEnd())
            {
                _cancelRequested = true;
                return;
            }
        }

        blocked.Flush.SetResult(new FlushResult(isCanceled: true, isCompleted: false));
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

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => _blocked!.Flush.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _blocked!.Flush.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _blocked!.Flush.OnCompleted(continuation, state, token, flags);

    private byte[] EnsureCapacity(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        var needed = _written + Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ThreadBufferCache.Rent(Math.Max(needed, 4096));
        }
        else if (needed > _buffer.Length)
        {
            var larger = ThreadBufferCache.Rent(Math.Max(needed, _buffer.Length * 2));
            Buffer.BlockCopy(_buffer, 0, larger, 0, _written);
            ThreadBufferCache.Return(_buffer);
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
        var blocked = _blocked;
        if (blocked?.Sending is null)
        {
            SendLocked(buffer, count);
        }
        else if (blocked.Next is null)
        {
            blocked.Next = buffer;
            blocked.NextCount = count;
        }
        else
        {
            if (blocked.NextCount + count > blocked.Next.Length)
            {
                var larger = ThreadBufferCache.Rent(blocked.NextCount + count);
                Buffer.BlockCopy(blocked.Next, 0, larger, 0, blocked.NextCount);
                ThreadBufferCache.Return(blocked.Next);
                blocked.Next = larger;
            }

            Buffer.BlockCopy(buffer, 0, blocked.Next, blocked.NextCount, count);
            blocked.NextCount += count;
            ThreadBufferCache.Return(buffer);
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

        ThreadBufferCache.Return(buffer);
    }

    private void StartSendLocked(byte[] buffer, int offset, int count)
    {
        (_blocked ??= new Blocked()).Sending = buffer;
        _socket.StartSend(buffer, offset, count);
    }

    /// <summary>The send <see cref="TransportSocket.StartSend"/> started has ended (any thread).</summary>
    internal void OnSent()
    {
        bool gone;
        Blocked blocked;
        lock (_socket)
        {
            blocked = _blocked!;
            if (_socket.EndSend() is { } failed)
            {
                _error ??= new IOException(failed.Message, failed);
            }
            ReturnLocked(ref blocked.Sending);
            if (blocked.Next is { } next)
            {
                blocked.Next = null;
                if (_error is null)
                {
                    SendLocked(next, blocked.NextCount);
                }
                else
                {
                    ThreadBufferCache.Return(next);
                }

                if (blocked.Sending is not null)
                {
                    return; // More than the kernel takes again: wait on.
                }
            }

            if (!blocked.Flush.TryEnd())
            {
                return; // No flush waits: cancelled meanwhile, or the writer completed.
            }

            gone = _error is not null;
        }

        // Outside the lock: the flusher's continuation runs inline from here.
        blocked.Flush.SetResult(new FlushResult(isCanceled: false, isCompleted: gone));
    }

    private static void ReturnLocked(ref byte[]? buffer)
    {
        if (buffer is { } rented)
        {
            buffer = null;
            ThreadBufferCache.Return(rented);
        }
    }

    /// <summary>
    /// What only a connection whose kernel buffer filled up needs: the asynchronous send in flight, what was flushed
    /// behind it, and the flush that waits for them (about 90 bytes an idle connection does not hold).
    /// </summary>
    private sealed class Blocked
    {
#pragma warning disable SA1401 // Fields: updated in place under the writer's lock (a mutable struct, a ref argument).
        public PendingOperation<FlushResult> Flush; // What a FlushAsync waits on.
        public byte[]? Sending; // Handed to an asynchronous send.
        public byte[]? Next; // Flushed while Sending was in flight: sent after it.
        public int NextCount;
#pragma warning restore SA1401
    }
}
