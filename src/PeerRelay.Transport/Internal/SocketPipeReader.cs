using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using PeerRelay.Internal;

namespace PeerRelay.Transport.Internal;

/// <summary>
/// Reads a non-blocking socket as a <see cref="PipeReader"/>: a read first takes what the kernel already holds; only
/// when there is nothing does it wait for the socket to become readable (<see cref="TransportSocket.StartWaitReadable"/>). The buffer is
/// rented when bytes arrive and returned as soon as the consumer has consumed them all, so an idle connection holds
/// none. One contiguous buffer: it grows only when the consumer leaves more unconsumed than fits.
/// </summary>
internal sealed class SocketPipeReader : PipeReader, IValueTaskSource<ReadResult>
{
    private static readonly Action<object?, CancellationToken> s_onReadCancelled = static (state, token) =>
    {
        var reader = (SocketPipeReader)state!;
        reader._read.Cancel(reader._socket, token);
    };

    private readonly TransportSocket _socket;
    private readonly int _bufferSize;
    // What a ReadAsync waits on. It completes with the result's flags only; GetResult makes the ReadResult from the
    // buffer, which nothing changes until the consumer has it (a ReadResult kept in it would cost 32 bytes per idle
    // connection).
    private PendingOperation<ReadOutcome> _read;
    private byte[]? _buffer;
    private int _start; // First unconsumed byte.
    private int _end; // End of the received bytes.
    private bool _examinedAll; // The consumer has seen every byte: the next read must receive more.
    private bool _waiting; // A wait for readability is outstanding on the socket.
    private bool _drained; // The last receive took less than it could: the kernel holds nothing more until a wait says so.
    private bool _cancelRequested; // CancelPendingRead with no read pending: the next read returns cancelled.
    private bool _finished; // The peer sent FIN.
    private bool _completed; // The consumer called Complete.
    private Exception? _error;
    private Action? _direct; // Direct reads (IDirectReceiveFeature): told when a wait ends, instead of a pending read.

    public SocketPipeReader(Socket socket, int bufferSize)
        : this(new NetSocket(socket), bufferSize)
    {
    }

    /// <summary>Reads <paramref name="socket"/>, under a lock on the socket (shared with its writer and connection).</summary>
    public SocketPipeReader(TransportSocket socket, int bufferSize)
    {
        _socket = socket;
        _bufferSize = bufferSize;
        socket.Reader = this;
    }

    /// <summary>Gets a value indicating whether the reader holds a buffer now (tests: an idle connection holds none).</summary>
    internal bool HoldsBuffer => _buffer is not null;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        lock (_socket)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (_read.IsPending)
            {
                throw new InvalidOperationException("A read is already pending.");
            }

            while (true)
            {
                if (TryTakeResultLocked(out var result))
                {
                    return new ValueTask<ReadResult>(result);
                }

                if (_error is { } error)
                {
                    return ValueTask.FromException<ReadResult>(error);
                }

                // Pending before the wait starts, so that a wait completing at any moment finds the read to settle.
                _read.Begin();

                // An earlier wait (of a cancelled read) may still be outstanding: use it.
                if (_waiting || StartWaitLocked())
                {
                    break;
                }

                _read.TryEnd(); // Readable at once: take what arrived.
            }

            _read.CancelOn(this, s_onReadCancelled, cancellationToken);

            return new ValueTask<ReadResult>(this, _read.Version);
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        lock (_socket)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (TryTakeResultLocked(out result))
            {
                return true;
            }

            return _error is { } error ? throw error : false;
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        lock (_socket)
        {
            if (_buffer is null)
            {
                return; // The last result was empty.
            }

            var consumedAt = consumed.GetObject() is null ? _start : consumed.GetInteger();
            var examinedAt = examined.GetObject() is null ? consumedAt : examined.GetInteger();
            if (consumedAt < _start || consumedAt > _end || examinedAt < consumedAt || examinedAt > _end)
            {
                throw new InvalidOperationException("The position is outside the last read result.");
            }

            _start = consumedAt;
            _examinedAll = examinedAt == _end;
            if (_start == _end)
            {
                ReturnBufferLocked(); // All consumed: an idle connection holds no buffer.
            }
        }
    }

    public override void CancelPendingRead()
    {
        lock (_socket)
        {
            if (!_read.TryEnd())
            {
                _cancelRequested = true;
                return;
            }
        }

        _read.SetResult(ReadOutcome.Canceled | ReadOutcome.Empty);
    }

    public override void Complete(Exception? exception = null)
    {
        lock (_socket)
        {
            _completed = true;
            ReturnBufferLocked();
        }
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token)
    {
        var outcome = _read.GetResult(token);
        var canceled = (outcome & ReadOutcome.Canceled) != 0;
        var completed = (outcome & ReadOutcome.Completed) != 0;
        if ((outcome & ReadOutcome.Empty) != 0)
        {
            return new ReadResult(ReadOnlySequence<byte>.Empty, canceled, completed);
        }

        lock (_socket)
        {
            return new ReadResult(SequenceLocked(), canceled, completed);
        }
    }

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    /// <summary>Switches to direct reads (<see cref="IDirectReceiveFeature.TryStartDirectReceive"/>); false while a read or its wait is pending.</summary>
    internal bool TryStartDirect(Action onReadable)
    {
        lock (_socket)
        {
            if (_completed || _read.IsPending || _waiting || _direct is not null)
            {
                return false;
            }

            _direct = onReadable;
            return true;
        }
    }

    /// <summary>A direct read (<see cref="IDirectReceiveFeature.Receive"/>): what this reader still holds first, then the kernel's.</summary>
    internal int ReceiveDirect(Span<byte> destination, out SocketError error)
    {
        lock (_socket)
        {
            if (_end > _start)
            {
                var count = Math.Min(destination.Length, _end - _start);
                _buffer.AsSpan(_start, count).CopyTo(destination);
                _start += count;
                if (_start == _end)
                {
                    ReturnBufferLocked();
                }

                error = SocketError.Success;
                return count;
            }

            if (_finished)
            {
                error = SocketError.Success;
                return 0;
            }

            if (_completed || _error is not null)
            {
                error = _completed ? SocketError.OperationAborted : (_error!.InnerException as SocketException)?.SocketErrorCode ?? SocketError.SocketError;
                return 0;
            }

            var received = _socket.Receive(destination, out error);
            _finished = error == SocketError.Success && received == 0;
            _drained = error == SocketError.WouldBlock || (error == SocketError.Success && received < destination.Length);
            return received;
        }
    }

    /// <summary>
    /// A direct read's wait (<see cref="IDirectReceiveFeature.WaitReadable"/>): none while this reader still holds bytes
    /// or the last receive filled its buffer (the kernel may hold more, and an edge-triggered socket reports no new edge
    /// for what it already holds).
    /// </summary>
    internal bool WaitReadableDirect()
    {
        lock (_socket)
        {
            return !_completed && _end == _start && _drained && (_waiting || StartWaitLocked());
        }
    }

    /// <summary>A result from what is buffered or what the kernel holds, when there is one without waiting.</summary>
    private bool TryTakeResultLocked(out ReadResult result)
    {
        if (_cancelRequested)
        {
            _cancelRequested = false;
            result = new ReadResult(SequenceLocked(), isCanceled: true, isCompleted: false);
            return true;
        }

        if ((_end > _start && !_examinedAll) || _finished || (!_waiting && !_drained && _error is null && ReceiveLocked()))
        {
            result = new ReadResult(SequenceLocked(), isCanceled: false, isCompleted: _finished);
            return true;
        }

        result = default;
        return false;
    }

    /// <summary>Receives what the kernel holds without blocking; false when it holds nothing (or failed: see <see cref="_error"/>).</summary>
    private bool ReceiveLocked()
    {
        if (_buffer is null)
        {
            _buffer = ThreadBufferCache.Rent(_bufferSize);
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            MakeRoomLocked();
        }

        var space = _buffer.Length - _end;
        var received = _socket.Receive(_buffer.AsSpan(_end), out var error);

        if (error == SocketError.Success)
        {
            // Less than it could take: the kernel is drained, so the next read waits without trying a receive that
            // would only say "would block" (the wait's own first attempt still catches bytes that arrive meanwhile).
            _drained = received < space;
            _finished = received == 0;
            _end += received;
            _examinedAll = false;
            return true;
        }

        if (_end == _start)
        {
            ReturnBufferLocked();
        }

        if (error is not (SocketError.WouldBlock or SocketError.Interrupted))
        {
            _error = new IOException($"Receiving failed: {error}.", new SocketException((int)error));
        }

        return false;
    }

    /// <summary>The consumer left unconsumed bytes at the end of a full buffer: move them to the front, or grow.</summary>
    private void MakeRoomLocked()
    {
        var unconsumed = _end - _start;
        var target = unconsumed < _buffer!.Length / 2 ? _buffer : ThreadBufferCache.Rent(_buffer.Length * 2);
        Buffer.BlockCopy(_buffer, _start, target, 0, unconsumed);
        if (!ReferenceEquals(target, _buffer))
        {
            ThreadBufferCache.Return(_buffer);
            _buffer = target;
        }

        _start = 0;
        _end = unconsumed;
    }

    /// <summary>Starts waiting for the socket to become readable; false when it already is (or the wait failed: see <see cref="_error"/>).</summary>
    private bool StartWaitLocked()
    {
        if (!_socket.StartWaitReadable())
        {
            ObserveWaitLocked();
            return false;
        }

        _waiting = true;
        return true;
    }

    private void ObserveWaitLocked()
    {
        _drained = false;
        if (_socket.EndWaitReadable() is { } error)
        {
            _error ??= new IOException(error.Message, error);
        }
    }

    /// <summary>
    /// The wait <see cref="TransportSocket.StartWaitReadable"/> started has ended, as seen by a socket under its own
    /// lock: with direct reads the wait ends here, and the application's callback is returned, for the socket to call
    /// outside the lock instead of <see cref="OnReadable"/>; otherwise null (<see cref="OnReadable"/> follows).
    /// </summary>
    internal Action? EndDirectWaitLocked()
    {
        if (_direct is not { } direct)
        {
            return null;
        }

        _waiting = false;
        ObserveWaitLocked();
        return direct;
    }

    /// <summary>The wait <see cref="TransportSocket.StartWaitReadable"/> started has ended (any thread).</summary>
    internal void OnReadable()
    {
        ReadOutcome outcome;
        Exception? error;
        if (_direct is not null)
        {
            // Direct reads: the application reads, on this thread, outside the lock.
            Action? direct;
            lock (_socket)
            {
                direct = EndDirectWaitLocked();
            }

            direct!();
            return;
        }

        lock (_socket)
        {
            _waiting = false;
            ObserveWaitLocked();
            if (!_read.IsPending)
            {
                return; // The read was cancelled meanwhile; the next one receives.
            }

            while (true)
            {
                if (TryTakeResultLocked(out var result))
                {
                    outcome = (result.IsCanceled ? ReadOutcome.Canceled : 0) | (result.IsCompleted ? ReadOutcome.Completed : 0);
                    error = null;
                    break;
                }

                if (_error is { } failed)
                {
                    outcome = default;
                    error = failed;
                    break;
                }

                if (StartWaitLocked())
                {
                    return; // Readable, yet nothing to read: wait again.
                }
            }

            _read.TryEnd();
        }

        // Outside the lock: the consumer's continuation runs inline from here (it routes and sends to other connections).
        if (error is null)
        {
            _read.SetResult(outcome);
        }
        else
        {
            _read.SetException(error);
        }
    }

    private ReadOnlySequence<byte> SequenceLocked() =>
        _buffer is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_buffer, _start, _end - _start);

    private void ReturnBufferLocked()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            _start = _end = 0;
            ThreadBufferCache.Return(buffer);
        }
    }

    /// <summary>How a pending read completed; its <see cref="ReadResult"/> is made when the consumer takes it.</summary>
    [Flags]
    private enum ReadOutcome : byte
    {
        /// <summary>Bytes arrived: the result is what the buffer holds.</summary>
        None = 0,

        /// <summary>The result is cancelled.</summary>
        Canceled = 1,

        /// <summary>The peer sent FIN.</summary>
        Completed = 2,

        /// <summary>The result is empty (a cancellation of the pending read).</summary>
        Empty = 4,
    }
}
