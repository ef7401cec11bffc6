using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using PeerRelay.Protocol;
using PeerRelay.Server.Internal.WebSockets;
using PeerRelay.Transport;

namespace PeerRelay.Server.Internal;

/// <summary>
/// The receive side of a <see cref="RelayConnection"/>: where a client's message is read and decoded. A synchronous
/// pump (<see cref="Receive"/>) takes what the input pipe holds, parses RFC 6455 frames (<see cref="FrameReader"/>) and
/// hands each message to the router, which routes and sends it, all on the thread that saw the bytes arrive (with the
/// epoll transport, the event loop's own, inside its readiness callback). Only when the input is drained, or a message
/// has to wait (a registration, a throttled message, a fleet forward), does the pump stop, with one cached
/// continuation that resumes it: no async state machine is resumed per message, and an idle client keeps only these
/// fields. When reading stops for good, the pump completes the <see cref="ValueTask"/> that <see cref="RunAsync"/>
/// awaits, which then finishes the close handshake. On PeerRelay's socket transports without TLS the pump reads the
/// socket itself instead of the pipe (<see cref="ReceiveDirect"/>, RelayConnection.Direct.cs); both parse with
/// <see cref="HandleFrames(ref ReadOnlySequence{byte}, out ValueTask)"/> (the direct pump takes a whole one-frame message
/// straight from its array first) and act on each frame with <see cref="OnFrame"/>.
/// </summary>
internal sealed partial class RelayConnection : IValueTaskSource, IThreadPoolWorkItem
{
    private static readonly object s_receiveEnded = new();

    private FrameReader _frames; // The pump's only (one thread at a time: the continuations are serialised by the waits).
    private ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _pendingRead;
    private ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter _pendingMessage;
    private Action? _resume; // Receive, as the continuation of what the pump waits for (made on the first wait).
    private ReceiveWait _waiting;
    private int _turn; // Messages handled since a read last had to wait for the socket.

    // The end of receiving, as awaited by RunAsync: null, its continuation (Action<object?>), or s_receiveEnded.
    private object? _receiveContinuation;
    private object? _receiveContinuationState;
    private Exception? _receiveError;

    // Direct reads (RelayConnection.Direct.cs): the transport's socket read into a buffer of the pump's own.
    private IDirectReceiveFeature? _direct;
    private IDirectSendFeature? _directSend; // With direct reads: a forward's frame goes to the socket from the stack.

    private enum ReceiveWait : byte
    {
        None,
        Read,
        Message,
    }

    private enum ReceiveStep : byte
    {
        /// <summary>Read on.</summary>
        Continue,

        /// <summary>The pump waits: a continuation (or the thread pool, after a yield) resumes it.</summary>
        Wait,

        /// <summary>Reading has stopped for good.</summary>
        Stop,
    }

    /// <summary>
    /// The receive loop: runs until the connection ends, then releases everything it holds. The reading itself is the
    /// pump (<see cref="Receive"/>); this method waits for it to stop and then finishes the close handshake.
    /// </summary>
    public async Task RunAsync()
    {
        var app = Options.MaxMessageBytes ?? int.MaxValue;
        _frames = new FrameReader(Math.Min(app, Options.TransportMaxMessageBytes));
        try
        {
            Action resume;
            if ((_abortTarget as Microsoft.AspNetCore.Connections.BaseConnectionContext)?.Features.Get<IDirectReceiveFeature>() is { } direct
                && direct.TryStartDirectReceive(resume = ReceiveDirect))
            {
                // Direct reads (no TLS on the connection): the transport calls the pump, which waits for messages too.
                _direct = direct;
                _directSend = direct as IDirectSendFeature;
                _resume = resume;
                _drained = true; // A wait first: the transport says whether what it holds (or the kernel's) is to be read.
                PumpDirect();
            }
            else
            {
                Receive();
            }

            await new ValueTask(this, 0);

            await WaitForCloseFrameAsync();
            if (_closeReceived)
            {
                // The close handshake is complete: the server closes the TCP connection first (RFC 6455, 7.1.1), now,
                // so that the client sees its socket closed before anything that waited for this close (a take-over's
                // relay_response) is sent to anyone.
                AbortTransport();
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The peer vanished, the keep-alive gave up, or the close timed out (the sweeper aborted the transport).
            LogLost(ex.Message);
            Abort();
        }
        catch (Exception ex)
        {
            Log.ReceiveLoopFailed(Logger, ex, Id, Remote);
            Close(RelayCloseCodes.InternalError, "Internal server error.", dropQueued: true);
            Abort();
        }
        finally
        {
            _frames.Dispose();
            ReleaseUnread();
            End();
        }
    }

    /// <summary>
    /// The pump: finishes what it waited for, then reads and handles whatever the input holds without waiting, until a
    /// read or a message must wait (it returns; the continuation calls it again) or reading stops (the receive ends).
    /// </summary>
    private void Receive()
    {
        try
        {
            var step = ResumeWait();
            var input = _transport.Input;
            while (step == ReceiveStep.Continue)
            {
#pragma warning disable CA2012 // Consumed once: by GetResult below, or by the continuation (ResumeWait).
                var read = input.ReadAsync().ConfigureAwait(false).GetAwaiter();
#pragma warning restore CA2012
                if (!read.IsCompleted)
                {
                    _turn = 0;
                    _pendingRead = read;
                    _waiting = ReceiveWait.Read;
                    read.UnsafeOnCompleted(_resume ??= Receive);
                    return;
                }

                step = OnRead(read.GetResult());
            }

            if (step == ReceiveStep.Stop)
            {
                EndReceive(null);
            }
        }
        catch (Exception ex)
        {
            EndReceive(ex);
        }
    }

    /// <summary>After a yield to the thread pool's queue (a flood, see <see cref="OnRead"/>): reads on.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        if (_direct is not null)
        {
            ReceiveDirect();
        }
        else
        {
            Receive();
        }
    }

    /// <summary>Takes the outcome of what the pump waited for, if anything.</summary>
    private ReceiveStep ResumeWait()
    {
        var waiting = _waiting;
        _waiting = ReceiveWait.None;
        switch (waiting)
        {
            case ReceiveWait.Read:
                var read = _pendingRead;
                _pendingRead = default;
                return OnRead(read.GetResult());
            case ReceiveWait.Message:
                var message = _pendingMessage;
                _pendingMessage = default;
                message.GetResult();
                _frames.ResetMessage();
                return ReceiveStep.Continue; // The rest of the last read was left unexamined: the next read (or _unread) has it.
            default:
                return ReceiveStep.Continue;
        }
    }

    /// <summary>Handles the frames of one read: messages go to the router, control frames are answered.</summary>
    private ReceiveStep OnRead(ReadResult result)
    {
        Volatile.Write(ref _pingOutstandingSince, 0);
        var input = _transport.Input;
        var buffer = result.Buffer;
        var frames = HandleFrames(ref buffer, out var pending);
        if (frames == FramesStep.Pending)
        {
            // The message is in the frame reader's buffer: what follows it stays unexamined, so the read after the
            // wait returns it at once.
            input.AdvanceTo(buffer.Start, buffer.Start);
            return WaitForMessage(pending);
        }

        if (frames == FramesStep.Stop)
        {
            return ReceiveStep.Stop;
        }

        input.AdvanceTo(buffer.Start, buffer.End);
        if (result.IsCompleted || result.IsCanceled)
        {
            return OnPeerFinished();
        }

        return EndOfRead();
    }

    /// <summary>What <see cref="HandleFrames(ref ReadOnlySequence{byte}, out ValueTask)"/> ended with.</summary>
    private enum FramesStep : byte
    {
        /// <summary>The input is used up (up to an incomplete frame, left in it).</summary>
        NeedMore,

        /// <summary>A message waits (a registration, a throttled message, a fleet forward); the rest of the input is unexamined.</summary>
        Pending,

        /// <summary>Reading has stopped for good.</summary>
        Stop,
    }

    /// <summary>Parses <paramref name="buffer"/>'s frames: messages go to the router, control frames are answered.</summary>
    private FramesStep HandleFrames(ref ReadOnlySequence<byte> buffer, out ValueTask pending)
    {
        pending = default;
        while (true)
        {
            var step = _frames.Next(ref buffer);
            if (step == FrameStep.NeedMore)
            {
                return FramesStep.NeedMore;
            }

            if (OnFrame(step, ref pending) is { } end)
            {
                return end;
            }
        }
    }

    /// <summary>
    /// <see cref="HandleFrames(ref ReadOnlySequence{byte}, out ValueTask)"/> on the bytes of <paramref name="buffer"/>
    /// from <paramref name="start"/> (moved past what was handled) to <paramref name="end"/> (direct reads): each whole
    /// one-frame message, the usual input, is taken straight from the array; from anything else on, the sequence parser
    /// takes over.
    /// </summary>
    private FramesStep HandleFrames(byte[] buffer, ref int start, int end, out ValueTask pending)
    {
        pending = default;
        while (_frames.TryNextWhole(buffer, ref start, end, out var step))
        {
            if (OnFrame(step, ref pending) is { } stop)
            {
                return stop;
            }
        }

        if (start == end)
        {
            return FramesStep.NeedMore;
        }

        var input = new ReadOnlySequence<byte>(buffer, start, end - start);
        var result = HandleFrames(ref input, out pending);
        start = end - (int)input.Length;
        return result;
    }

    /// <summary>Acts on what the frame reader found: null to parse on, else how the input's handling ends.</summary>
    private FramesStep? OnFrame(FrameStep step, ref ValueTask pending)
    {
        if (step == FrameStep.Message)
        {
            _turn++;
            if (!IsClosing)
            {
                pending = OnMessage(ref _frames);
                if (!pending.IsCompletedSuccessfully)
                {
                    return FramesStep.Pending;
                }
            }

            _frames.ResetMessage();
            return null;
        }

        if (step == FrameStep.Control)
        {
            var stop = OnControl(ref _frames);
            _frames.ReleaseControl();
            return stop ? FramesStep.Stop : null;
        }

        // A protocol error, a message over the size limit, or text that is not UTF-8: close, stop reading.
        OnBadInput(ref _frames, step, appLimit: (Options.MaxMessageBytes ?? int.MaxValue) <= Options.TransportMaxMessageBytes);
        return FramesStep.Stop;
    }

    /// <summary>The pump waits for a message the router could not finish at once; the continuation resumes it.</summary>
    private ReceiveStep WaitForMessage(ValueTask pending)
    {
        _pendingMessage = pending.ConfigureAwait(false).GetAwaiter();
        _waiting = ReceiveWait.Message;
        _pendingMessage.UnsafeOnCompleted(_resume ??= Receive);
        return ReceiveStep.Wait;
    }

    /// <summary>The client went away without a close frame (or after ours, without answering).</summary>
    private ReceiveStep OnPeerFinished()
    {
        if (!IsClosing)
        {
            LogLost("the client closed the TCP connection");
        }

        Close(AbnormalClosure, string.Empty, dropQueued: true);
        return ReceiveStep.Stop;
    }

    /// <summary>A read was handled to its end: read on, or after a turn's worth of messages let other connections run.</summary>
    private ReceiveStep EndOfRead()
    {
        if (_turn >= MessagesPerTurn)
        {
            // A client with a backlog (a flood) is read without waiting, so its pump would keep the socket thread as
            // long as it sends: after a turn's worth, go to the back of the thread pool's queue and let the other
            // connections' reads run first (issue 13, fairness on one core).
            _turn = 0;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            return ReceiveStep.Wait;
        }

        return ReceiveStep.Continue;
    }

    /// <summary>Reading has stopped (<paramref name="error"/>: it failed): <see cref="RunAsync"/> goes on.</summary>
    private void EndReceive(Exception? error)
    {
        _receiveError = error;
        var continuation = Interlocked.Exchange(ref _receiveContinuation, s_receiveEnded);
        if (continuation is Action<object?> run)
        {
            run(_receiveContinuationState);
        }
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) =>
        !ReferenceEquals(Volatile.Read(ref _receiveContinuation), s_receiveEnded) ? ValueTaskSourceStatus.Pending
        : _receiveError is null ? ValueTaskSourceStatus.Succeeded
        : ValueTaskSourceStatus.Faulted;

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        // RunAsync is the only awaiter, and awaits without a context of its own.
        _receiveContinuationState = state;
        if (Interlocked.CompareExchange(ref _receiveContinuation, continuation, null) is not null)
        {
            // Ended meanwhile: not inline (that would run RunAsync's rest inside its own await).
            ThreadPool.UnsafeQueueUserWorkItem(continuation, state, preferLocal: true);
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        if (_receiveError is { } error)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
    }
}
