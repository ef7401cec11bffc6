using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Internal.WebSockets;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Internal;

/// <summary>
/// One client's WebSocket, over the connection's transport pipes. Receiving is a synchronous pump
/// (RelayConnection.Receive.cs): it reads frames (RFC 6455), assembles each message and hands it to the
/// <see cref="RelayRouter"/> on the thread that saw the bytes arrive; <see cref="RunAsync"/> waits for it to stop and
/// finishes the close handshake. Sending has no loop of its
/// own: <see cref="TrySend"/> writes the frame straight into the transport and flushes it; only while a flush is held up
/// by a slow reader are messages kept back, in a queue bounded by <see cref="RelayServerOptions.SendQueueCapacity"/>,
/// which the flush's continuation drains. Time-outs (keep-alive, close handshake) are driven by
/// <see cref="ConnectionSweeper"/>, so an idle connection holds no timer, no buffer and no pending send.
/// </summary>
internal sealed partial class RelayConnection : IRelayClient
{
    /// <summary>1006: the connection ended without a close frame. Never sent; recorded for logs and metrics.</summary>
    internal const int AbnormalClosure = 1006;
    private const int NoStatusReceived = 1005;

    /// <summary>Messages one connection handles in a row, reading without waiting, before it lets others run.</summary>
    private const int MessagesPerTurn = 32;
    private static long s_nextId;

    private readonly IDuplexPipe _transport;
    private readonly object _abortTarget; // What Abort() aborts: Kestrel's ConnectionContext, an HttpContext, or an Action.
    private readonly ushort _port; // A TCP port: 2 bytes (with the other small fields, 8 bytes less per connection than an int here).
    private readonly object? _handshake; // A RelayHandshake, the raw request head to rebuild it from, or null (no auth).
    private readonly IPAddress? _clientAddress;
    private readonly RelayConnectionServices _services; // Router, options, logger and limiter: one reference for all.
    private readonly bool _admitted; // The limiter admitted it: released when it ends.
    // Under the send lock: a lock on the connection itself (a thin monitor lock, no lock object per client; nothing
    // else locks on a connection).
    private bool _flushPending;
    private bool _closeFrameWritten;
    private bool _writerDone;
    private bool _held;

    private volatile RelayClientRegistration? _registration;
    private long _closeRequestedAt; // When the close was requested (Stopwatch), 0 before: one field, so whoever sees the close sees its time.
    private bool _closeReceived; // The client's close frame was read: the close handshake is complete once ours is out.
    private long _lastPingSent;
    private long _pingOutstandingSince;
    private int _ended;
    private Rare? _rare; // Close state, waiters, a slow reader's queue: made when first needed, never for an idle client.

    /// <param name="transport">The connection's pipes.</param>
    /// <param name="abortTarget">What <see cref="Abort"/> aborts: Kestrel's ConnectionContext, an HttpContext, or an Action.</param>
    /// <param name="handshake">A <see cref="RelayHandshake"/>, the raw request head to rebuild it from, or null (no authenticator).</param>
    /// <param name="clientAddress">The client's address (limits, logs).</param>
    /// <param name="port">The client's port (logs).</param>
    /// <param name="services">What the connections of one front door share.</param>
    /// <param name="admitted">The connection was admitted by the services' limiter, and releases its place there when it ends.</param>
    public RelayConnection(
        IDuplexPipe transport,
        object abortTarget,
        object? handshake,
        IPAddress? clientAddress,
        int port,
        RelayConnectionServices services,
        bool admitted = false)
    {
        _admitted = admitted;
        _transport = transport;
        _abortTarget = abortTarget;
        _port = (ushort)port;
        _handshake = handshake;
        _clientAddress = clientAddress;
        _services = services;
        Id = Interlocked.Increment(ref s_nextId);
        OpenedTimestamp = Stopwatch.GetTimestamp();
        _lastPingSent = OpenedTimestamp;
    }

    public long Id { get; }

    /// <summary>Gets the number of messages queued behind a flush its reader holds up.</summary>
    public int QueuedMessages
    {
        get
        {
            lock (this)
            {
                return _rare?.Backlog?.Count ?? 0;
            }
        }
    }

    /// <summary>Gets or sets the connection's slot in the <see cref="ClientRegistry"/>; -1 when not in it (under its lock).</summary>
    public int ClientSlot { get; set; } = -1;

    /// <summary>Messages read from this client. Written by the receive loop only (a plain increment); read by the admin API.</summary>
    public long MessagesIn { get; set; }

    /// <summary>
    /// Forwards of this client to other nodes whose outcome is not known yet (<see cref="PendingForward"/>): the receive
    /// loop goes on reading while they are few, and waits for one when there are <see cref="RelayRouter.MaxForwardsInFlight"/>.
    /// </summary>
    internal int ForwardsInFlight;

    /// <summary>Messages sent or queued to this client. Written under the send lock (a plain increment); read by the admin API.</summary>
    public long MessagesOut { get; private set; }

    /// <summary>Gets when the connection opened, a <see cref="Stopwatch"/> timestamp (registration deadline).</summary>
    public long OpenedTimestamp { get; }

    /// <summary>The connection's message token bucket; only the receive loop uses it (see <see cref="RelayLimits"/>).</summary>
#pragma warning disable SA1401, CA1051 // A mutable struct updated in place: a property would copy it.
    internal MessageRateLimiter MessageRate;
#pragma warning restore SA1401, CA1051

    /// <summary>
    /// Gets the opening request, for the authenticator. Rebuilt from the raw request head on each call when the
    /// connection came through <see cref="RelayConnectionMiddleware"/> (registrations are rare; idle clients then keep
    /// only the head's bytes).
    /// </summary>
    public RelayHandshake Handshake => _handshake switch
    {
        RelayHandshake handshake => handshake,
        byte[] head => UpgradeRequest.ToHandshake(head, _clientAddress),
        _ => new RelayHandshake(new Microsoft.AspNetCore.Http.HeaderDictionary(), Microsoft.AspNetCore.Http.QueryCollection.Empty, _clientAddress),
    };

    /// <summary>Gets the client's address and port, for logs (built when asked: idle clients do not keep it).</summary>
    public string Remote => $"{_clientAddress}:{_port}";

    /// <summary>
    /// Logs (at debug) that the connection was lost; the client's address is formatted only for a line that is written
    /// (a client that drops its TCP connection is the common end, and formatting it cost ~3 % of a connection's user
    /// time in issue 17's connect profile).
    /// </summary>
    private void LogLost(string why)
    {
        if (Logger.IsEnabled(LogLevel.Debug))
        {
            Log.ConnectionLost(Logger, Id, Remote, why);
        }
    }

    /// <summary>Gets or sets what this connection registered as. Written only under the registry's lock.</summary>
    public RelayClientRegistration? Registration
    {
        get => _registration;
        set => _registration = value;
    }

    /// <summary>Gets a value indicating whether a close has been requested; messages read after it are ignored.</summary>
    public bool IsClosing => Volatile.Read(ref _closeRequestedAt) != 0;

    /// <summary>Gets a token cancelled when the connection is aborted or ends (created on first use).</summary>
    public CancellationToken Aborted
    {
        get
        {
            var rare = RareState;
            if (rare.Aborted is null)
            {
                var source = new CancellationTokenSource();
                if (Interlocked.CompareExchange(ref rare.Aborted, source, null) is not null)
                {
                    source.Dispose();
                }
                else if (Volatile.Read(ref _ended) != 0)
                {
                    source.Cancel();
                }
            }

            return rare.Aborted.Token;
        }
    }

    /// <summary>
    /// Sends an encoded text message: written to the transport at once, or queued behind a flush a slow reader holds
    /// up. Takes ownership of the message's buffer in every case. Never blocks. A forward names its
    /// <paramref name="sender"/>: if it is still queued when this connection ends, it goes back to the sender with
    /// <c>error</c> set (<see cref="RelayRouter.OnUndelivered"/>), so no forward vanishes silently.
    /// </summary>
    public SendResult TrySend(OutboundMessage message, RelayConnection? sender = null) => Enqueue(message, sender, returned: false);

    /// <summary>
    /// Forwards a <c>peer_connection</c> matched by <see cref="RelayCodec.TryMatchPeerConnection"/> from
    /// <paramref name="sender"/>: as <see cref="TrySend"/> with the message <see cref="RelayRouter"/> stamps with
    /// <paramref name="source"/>'s identity, which is written straight behind the frame header into the transport
    /// (no message buffer of its own) unless it has to queue.
    /// </summary>
    [SkipLocalsInit] // The frame's stack buffer is written before it is read.
    public SendResult TrySendStamped(RelayClientRegistration source, ReadOnlySpan<byte> tail, RelayConnection sender)
    {
        var length = RelayCodec.GetStampedPeerConnectionLength(source.EscapedName, tail);
        lock (this)
        {
            if (WritesNowLocked)
            {
                MessagesOut++;
                Router.Metrics.BytesSent(length);
                if (_directSend is { } direct && length <= MaxDirectSendLength)
                {
                    // The whole frame on the stack, one send from there; what the kernel does not take goes to the
                    // transport's output, and the flush takes it on.
                    Span<byte> frame = stackalloc byte[WebSocketFrame.MaxServerHeaderLength + MaxDirectSendLength];
                    if (!direct.TrySend(frame[..WriteStampedFrame(frame, source, tail, length)]))
                    {
                        FlushLocked();
                    }

                    return SendResult.Queued;
                }

                var output = _transport.Output;
                output.Advance(WriteStampedFrame(output.GetSpan(WebSocketFrame.MaxServerHeaderLength + length), source, tail, length));
                FlushLocked();
                return SendResult.Queued;
            }
        }

        // Closing, or behind a flush a slow reader holds up: as any other message (TrySend looks again).
        return TrySend(RelayRouter.Stamp(source, tail, default), sender);
    }

    /// <summary>
    /// Queues a forward the relay returns to this connection, its sender, because the target's connection ended with
    /// it still queued (<see cref="RelayRouter.OnUndelivered"/>). Returns do not count against
    /// <see cref="RelayServerOptions.SendQueueCapacity"/>, neither when queued nor for what is queued after them: each
    /// left the target's queue, so the relay holds no more than before, and a sender that reads is not cut as slow for
    /// a burst of returns it did not cause. A sender that does not read is still cut by
    /// <see cref="RelayServerOptions.SlowReaderTimeout"/>, or when its other messages fill its queue.
    /// </summary>
    /// <param name="message">The returned message, with <c>error</c> set; ownership passes to this connection.</param>
    /// <returns>Whether it was queued, or the connection is closing.</returns>
    public SendResult SendReturned(OutboundMessage message) => Enqueue(message, sender: null, returned: true);

    /// <summary>Writes the stamped forward's frame (header, then the message of <paramref name="length"/> bytes) into <paramref name="span"/>; returns its length.</summary>
    private static int WriteStampedFrame(Span<byte> span, RelayClientRegistration source, ReadOnlySpan<byte> tail, int length)
    {
        var header = WebSocketFrame.WriteHeader(span, WebSocketOpcode.Text, length);
        RelayCodec.WriteStampedPeerConnection(span[header..], source.Uuid, source.EscapedName, tail);
        return header + length;
    }

    /// <summary>The longest stamped forward sent from a stack buffer (<see cref="TrySendStamped"/>); longer ones go through the transport's writer.</summary>
    private const int MaxDirectSendLength = 4096;

    /// <summary>Gets whether a message goes to the transport at once: not closing, and no flush held up or held back (under the send lock).</summary>
    private bool WritesNowLocked => !IsClosing && !_writerDone && !_flushPending && !_held;

    private SendResult Enqueue(OutboundMessage message, RelayConnection? sender, bool returned)
    {
        lock (this)
        {
            if (IsClosing || _writerDone)
            {
                message.Return();
                return SendResult.Closed;
            }

            if (!WritesNowLocked)
            {
                var rare = RareState;
                var backlog = rare.Backlog ??= new Queue<Outbound>();
                if (returned)
                {
                    rare.ReturnsQueued++;
                }
                else if (backlog.Count - rare.ReturnsQueued >= Options.SendQueueCapacity)
                {
                    message.Return();
                    return SendResult.QueueFull;
                }

                backlog.Enqueue(new Outbound(WebSocketOpcode.Text, message, sender, returned));
                MessagesOut++;
                Router.Metrics.BytesSent(message.Length);
                return SendResult.Queued;
            }

            MessagesOut++;
            Router.Metrics.BytesSent(message.Length);
            WriteFrame(WebSocketOpcode.Text, message.Memory.Span);
            message.Return();
            FlushLocked();
            return SendResult.Queued;
        }
    }

    /// <summary>
    /// Closes with 1008 for abuse (a sustained flood, a send queue that stays full, no registration in time): the only
    /// close that puts the client's address under <c>abuse_penalty</c>. Every other close, including other 1008s (a
    /// per-user limit an honest client can reach, an operator's kick), leaves the address alone, so the clients behind
    /// the same address (a NAT, a proxy) are not refused for it.
    /// </summary>
    public void CloseForAbuse(string reason, bool dropQueued = false)
    {
        RareState.Abusive = true;
        Close(RelayCloseCodes.PolicyViolation, reason, dropQueued);
    }

    /// <summary>
    /// Starts closing with <paramref name="code"/> and <paramref name="reason"/>. Messages already queued are sent
    /// first unless <paramref name="dropQueued"/>. The whole close is bounded by the close timeout (enforced by
    /// <see cref="ConnectionSweeper"/>), then the transport is aborted. Idempotent: the first call wins.
    /// </summary>
    public void Close(int code, string reason, bool dropQueued = false)
    {
        if (Interlocked.CompareExchange(ref _closeRequestedAt, Stopwatch.GetTimestamp(), 0) != 0)
        {
            return;
        }

        var rare = RareState;
        rare.CloseCode = code;
        rare.CloseReason = RelayCloseCodes.FitReason(reason);
        if (code == AbnormalClosure)
        {
            lock (this)
            {
                DropBacklogLocked();
            }

            return;
        }

        lock (this)
        {
            rare.CloseFlushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (dropQueued)
            {
                DropBacklogLocked();
            }

            if (_writerDone)
            {
                rare.CloseFlushed.TrySetResult();
                return;
            }

            var close = ArrayPool<byte>.Shared.Rent(WebSocketFrame.MaxControlPayload);
            var length = WebSocketFrame.WriteClosePayload(close, code, rare.CloseReason);
            if (_flushPending || _held)
            {
                (rare.Backlog ??= new Queue<Outbound>()).Enqueue(new Outbound(WebSocketOpcode.Close, new OutboundMessage(close, length)));
                return;
            }

            WriteFrame(WebSocketOpcode.Close, close.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(close);
            _closeFrameWritten = true;
            FlushLocked();
        }
    }

    /// <summary>
    /// Holds back everything sent to this connection (queued, up to <c>send_queue_capacity</c> messages) until
    /// <see cref="Release"/>. A registration holds its connection from before its UUID becomes findable until its
    /// <c>relay_response</c> goes out, so that the response always comes first, even when it waits for a take-over.
    /// </summary>
    public void Hold()
    {
        lock (this)
        {
            _held = true;
        }
    }

    /// <summary>
    /// Ends <see cref="Hold"/>: sends <paramref name="first"/> (if any; takes ownership of its buffer), then what was
    /// held back, in order.
    /// </summary>
    public void Release(OutboundMessage? first)
    {
        lock (this)
        {
            _held = false;
            if (_writerDone || _closeFrameWritten)
            {
                first?.Return();
                return;
            }

            if (first is { } counted)
            {
                MessagesOut++;
                Router.Metrics.BytesSent(counted.Length);
            }

            if (_flushPending)
            {
                // A flush from before the hold is still out: the message goes in front of what queued up behind it.
                if (first is { } message)
                {
                    var rare = RareState;
                    var queued = rare.Backlog ?? new Queue<Outbound>();
                    var backlog = rare.Backlog = new Queue<Outbound>(queued.Count + 1);
                    backlog.Enqueue(new Outbound(WebSocketOpcode.Text, message));
                    while (queued.TryDequeue(out var next))
                    {
                        backlog.Enqueue(next);
                    }
                }

                return;
            }

            if (first is { } text)
            {
                WriteFrame(WebSocketOpcode.Text, text.Memory.Span);
                text.Return();
            }

            WriteBacklogLocked();
            FlushLocked();
        }
    }

    /// <inheritdoc />
    public RelayDeliveryStatus Send(ReadOnlySpan<byte> utf8Json)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(utf8Json.Length);
        utf8Json.CopyTo(buffer);
        switch (TrySend(new OutboundMessage(buffer, utf8Json.Length)))
        {
            case SendResult.Queued:
                return RelayDeliveryStatus.Delivered;
            case SendResult.QueueFull:
                Router.CloseSlowReader(this);
                return RelayDeliveryStatus.QueueFull;
            default:
                return RelayDeliveryStatus.PeerClosed;
        }
    }

    /// <inheritdoc />
    public Task CloseAsync(int code, string reason)
    {
        // Released first: from now on messages for its UUID fail at once or reach its new holder.
        Router.Release(this, code);
        Close(code, reason);
        return WaitEndedAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
    }

    /// <summary>
    /// Waits until the connection has ended: its close handshake completed and its socket closed, or it was aborted
    /// (the close timeout, a lost peer). Returns false when <paramref name="timeout"/> passed first.
    /// </summary>
    public async Task<bool> WaitEndedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var rare = RareState;
        var ended = Volatile.Read(ref rare.EndedSignal);
        if (ended is null)
        {
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ended = Interlocked.CompareExchange(ref rare.EndedSignal, signal, null) ?? signal;
            if (Volatile.Read(ref _ended) != 0)
            {
                ended.TrySetResult(); // End() ran before the signal existed.
            }
        }

        try
        {
            await ended.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Keeps time for the connection; called about four times per shortest time-out by <see cref="ConnectionSweeper"/>.
    /// Sends keep-alive pings, aborts a connection whose ping went unanswered or whose close handshake overran.
    /// </summary>
    public void OnTick(long now)
    {
        if (Volatile.Read(ref _ended) != 0)
        {
            return;
        }

        if (IsClosing)
        {
            // The time is read from the same field that says "closing": a close seen here always has its time (when it
            // was a separate field, a tick between the two writes read 0 and aborted a close that had just begun).
            if (Stopwatch.GetElapsedTime(Volatile.Read(ref _closeRequestedAt), now) >= Options.CloseTimeout)
            {
                Log.CloseTimedOut(Logger, Id, Remote, Options.CloseTimeout.TotalSeconds);
                Abort();
            }

            return;
        }

        var stuckSince = _rare is { } stalled ? Volatile.Read(ref stalled.FlushStuckSince) : 0;
        if (stuckSince != 0 && Options.SlowReaderTimeout > TimeSpan.Zero
            && Stopwatch.GetElapsedTime(stuckSince, now) >= Options.SlowReaderTimeout)
        {
            // The kernel has taken nothing for it this long: it does not read. Cut it whatever its senders do.
            Router.OnSendStalled(this);
            return;
        }

        var interval = Options.KeepAliveInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        var outstanding = Volatile.Read(ref _pingOutstandingSince);
        if (outstanding != 0)
        {
            if (Stopwatch.GetElapsedTime(outstanding, now) >= Options.KeepAliveTimeout)
            {
                Log.KeepAliveTimedOut(Logger, Id, Remote, Options.KeepAliveTimeout.TotalSeconds);
                Abort();
            }

            return;
        }

        if (Stopwatch.GetElapsedTime(_lastPingSent, now) >= interval)
        {
            _lastPingSent = now;
            Volatile.Write(ref _pingOutstandingSince, now);
            SendControl(WebSocketOpcode.Ping, []);
        }
    }

    /// <summary>
    /// Ends the connection at once, without waiting for the client to answer a close (a stop's drain, past its
    /// deadline). Safe from any thread; a connection that has ended already is left alone.
    /// </summary>
    public void AbortNow(string why)
    {
        if (Volatile.Read(ref _ended) != 0)
        {
            return;
        }

        LogLost(why);
        Abort();
    }

    private void Abort()
    {
        Close(AbnormalClosure, string.Empty, dropQueued: true);
        var rare = RareState;
        rare.CloseCode = rare.CloseCode == 0 ? AbnormalClosure : rare.CloseCode;
        try
        {
            rare.Aborted?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        AbortTransport();
    }

    private void AbortTransport()
    {
        switch (_abortTarget)
        {
            case Microsoft.AspNetCore.Connections.BaseConnectionContext connection:
                connection.Abort();
                break;
            case Microsoft.AspNetCore.Http.HttpContext http:
                http.Abort();
                break;
            case Action abort:
                abort();
                break;
        }
    }

    private void End()
    {
        Interlocked.Exchange(ref _ended, 1);
        List<Outbound>? undelivered = null;
        Rare? rare;
        lock (this)
        {
            WriterDoneLocked();
            rare = _rare;
            if (rare is not null)
            {
                undelivered = rare.Undelivered;
                rare.Undelivered = null;
            }
        }

        if (rare is { Dropped: > 0 })
        {
            Router.OnDroppedOnClose(this, rare.Dropped);
        }

        foreach (var forward in undelivered ?? [])
        {
            RelayRouter.OnUndelivered(forward.Sender!, forward.Message);
        }

        var closeCode = rare?.CloseCode ?? 0;
        Router.OnClosed(this, closeCode == 0 ? AbnormalClosure : closeCode);
        if (_admitted)
        {
            _services.Limiter?.Release(_clientAddress, abusive: rare?.Abusive ?? false);
        }

        rare ??= _rare; // Made meanwhile by a waiter.
        if (rare is null)
        {
            return;
        }

        Volatile.Read(ref rare.EndedSignal)?.TrySetResult();
        if (rare.Aborted is { } aborted)
        {
            aborted.Cancel();
            aborted.Dispose();
        }
    }

    private void OnBadInput(ref FrameReader reader, FrameStep step, bool appLimit)
    {
        if (step == FrameStep.TooLarge)
        {
            var code = appLimit ? RelayCloseCodes.MessageTooLarge : RelayCloseCodes.MessageTooBig;
            Router.OnMessageTooLarge(this, (int)Math.Min(reader.MessageSize, int.MaxValue), reader.Limit, code);
            Close(code, appLimit ? RelayCloseCodes.MessageTooLargeReason : "Message too big.");
            return;
        }

        Router.OnProtocolError(this, reader.ErrorCode, reader.Problem);
        Close(reader.ErrorCode, reader.Problem, dropQueued: true);
    }

    private ValueTask OnMessage(ref FrameReader reader)
    {
        if (reader.MessageOpcode == WebSocketOpcode.Binary)
        {
            Router.OnBinaryMessage(this);
            Close(RelayCloseCodes.UnknownMessage, RelayCloseCodes.UnknownMessageReason);
            return ValueTask.CompletedTask;
        }

        return Router.HandleAsync(this, reader.Message.AsSpan(reader.MessageOffset, reader.MessageLength));
    }

    /// <summary>Acts on a control frame; returns true when reading should stop.</summary>
    private bool OnControl(ref FrameReader reader)
    {
        var payload = reader.ControlPayload;
        switch (reader.ControlOpcode)
        {
            case WebSocketOpcode.Ping:
                SendControl(WebSocketOpcode.Pong, payload);
                return false;
            case WebSocketOpcode.Pong:
                return false;
            default:
                if (!WebSocketFrame.TryReadClosePayload(payload, out var code, out var reason, out var error))
                {
                    Router.OnProtocolError(this, error, "Malformed close frame.");
                    Close(error, error == 1007 ? "Invalid UTF-8 in close reason." : "Malformed close frame.", dropQueued: true);
                    return true;
                }

                // Answer the client's close with its own code (RFC 6455, 5.5.1) after what is queued is sent.
                _closeReceived = true;
                Close(code == NoStatusReceived ? 1000 : code, reason);
                return true;
        }
    }

    private void SendControl(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        lock (this)
        {
            if (_closeFrameWritten || _writerDone)
            {
                return;
            }

            if (_flushPending || _held)
            {
                var copy = ArrayPool<byte>.Shared.Rent(Math.Max(payload.Length, 1));
                payload.CopyTo(copy);
                (RareState.Backlog ??= new Queue<Outbound>()).Enqueue(new Outbound(opcode, new OutboundMessage(copy, payload.Length)));
                return;
            }

            WriteFrame(opcode, payload);
            FlushLocked();
        }
    }

    private async Task WaitForCloseFrameAsync()
    {
        Task? flushed;
        lock (this)
        {
            flushed = _rare?.CloseFlushed?.Task;
        }

        if (flushed is not null && _rare!.CloseCode != AbnormalClosure)
        {
            // Bounded by the sweeper: after close_timeout it aborts the transport, which completes the flush.
            await flushed;
        }

        bool stuck;
        lock (this)
        {
            stuck = _flushPending && !_writerDone;
            _writerDone = true;
        }

        if (stuck)
        {
            // Ending without a close handshake while a slow reader holds a flush: nothing more will reach it.
            AbortTransport();
        }

        await _transport.Output.CompleteAsync();
        await _transport.Input.CompleteAsync();
    }

    private void WriteFrame(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        var output = _transport.Output;
        var span = output.GetSpan(WebSocketFrame.MaxServerHeaderLength + payload.Length);
        var header = WebSocketFrame.WriteHeader(span, opcode, payload.Length);
        payload.CopyTo(span[header..]);
        output.Advance(header + payload.Length);
    }

    private void FlushLocked()
    {
        var flush = _transport.Output.FlushAsync();
        if (flush.IsCompletedSuccessfully)
        {
            OnFlushedLocked(flush.Result);
            return;
        }

        _flushPending = true;
        Volatile.Write(ref RareState.FlushStuckSince, Stopwatch.GetTimestamp());
        _ = DrainAsync(flush);
    }

    private void OnFlushedLocked(FlushResult result)
    {
        if (result.IsCompleted || result.IsCanceled)
        {
            // The transport is gone; the receive loop sees it too.
            WriterDoneLocked();
            return;
        }

        if (_closeFrameWritten)
        {
            _rare?.CloseFlushed?.TrySetResult();
        }
    }

    /// <summary>Waits out a flush a slow reader holds up, then writes what queued up behind it.</summary>
    private async Task DrainAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            while (true)
            {
                var result = await flush;
                lock (this)
                {
                    if (result.IsCompleted || result.IsCanceled || Volatile.Read(ref _ended) != 0)
                    {
                        WriterDoneLocked();
                        return;
                    }

                    var rare = RareState;
                    if (_held || rare.Backlog is not { Count: > 0 })
                    {
                        // Held: what queued up waits for Release, which writes it behind the message it releases with.
                        _flushPending = false;
                        Volatile.Write(ref rare.FlushStuckSince, 0);
                        OnFlushedLocked(result);
                        return;
                    }

                    // The reader took what was pending: progress, so the stall clock starts again.
                    Volatile.Write(ref rare.FlushStuckSince, Stopwatch.GetTimestamp());
                    WriteBacklogLocked();
                    flush = _transport.Output.FlushAsync();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            if (Logger.IsEnabled(LogLevel.Debug))
            {
                Log.SendFailed(Logger, Id, Remote, ex.Message);
            }
            lock (this)
            {
                WriterDoneLocked();
            }

            Abort();
        }
    }

    /// <summary>Writes the queued frames (not flushed); stops after a close frame, since nothing follows one.</summary>
    private void WriteBacklogLocked()
    {
        if (_rare?.Backlog is not { } backlog)
        {
            return;
        }

        while (backlog.TryDequeue(out var next))
        {
            if (next.Returned)
            {
                _rare.ReturnsQueued--;
            }

            WriteFrame(next.Opcode, next.Message.Memory.Span);
            next.Message.Return();
            if (next.Opcode == WebSocketOpcode.Close)
            {
                _closeFrameWritten = true;
                DropBacklogLocked(); // Nothing follows a close frame.
                break;
            }
        }
    }

    /// <summary>Nothing more will be written: what is queued is dropped and a pending close stops waiting.</summary>
    private void WriterDoneLocked()
    {
        _writerDone = true;
        DropBacklogLocked();
        _rare?.CloseFlushed?.TrySetResult();
    }

    private void DropBacklogLocked()
    {
        if (_rare is not { Backlog: { } backlog } rare)
        {
            return;
        }

        while (backlog.TryDequeue(out var message))
        {
            if (message.Opcode == WebSocketOpcode.Text)
            {
                rare.Dropped++;
            }

            if (message.Sender is not null)
            {
                (rare.Undelivered ??= []).Add(message); // Returned to its sender when the connection ends.
            }
            else
            {
                message.Message.Return();
            }
        }

        rare.ReturnsQueued = 0;
    }

    private RelayRouter Router => _services.Router;

    private RelayServerOptions Options => _services.Options;

    private ILogger Logger => _services.Logger;

    /// <summary>Gets the connection's <see cref="Rare"/> state, made when first needed.</summary>
    private Rare RareState
    {
        get
        {
            if (Volatile.Read(ref _rare) is { } rare)
            {
                return rare;
            }

            Interlocked.CompareExchange(ref _rare, new Rare(), null);
            return _rare;
        }
    }

    /// <summary>
    /// A frame kept back behind a pending flush; for a forward, the connection that sent it; whether it is a forward the
    /// relay returns to its sender (<see cref="SendReturned"/>, not counted against the queue's capacity).
    /// </summary>
    private readonly record struct Outbound(WebSocketOpcode Opcode, OutboundMessage Message, RelayConnection? Sender = null, bool Returned = false);

    /// <summary>
    /// What a connection needs only once it closes, a slow reader holds its flush up, or someone waits for it (a
    /// take-over, an authenticator's token): about 80 bytes an idle client does not keep. Fields, for
    /// <see cref="Interlocked"/> and <see cref="Volatile"/>; each keeps the locking it had on the connection.
    /// </summary>
#pragma warning disable SA1401 // Fields of a private state object, updated with Interlocked and Volatile.
    private sealed class Rare
    {
        public Queue<Outbound>? Backlog; // Under the send lock.
        public int ReturnsQueued; // Returned forwards in Backlog, not counted against its capacity (under the send lock).
        public long FlushStuckSince; // When the pending flush last made no progress (Stopwatch); read by the sweeper.
        public TaskCompletionSource? CloseFlushed;
        public CancellationTokenSource? Aborted;
        public TaskCompletionSource? EndedSignal; // Created only when someone waits for the end (a take-over).
        public int CloseCode;
        public string CloseReason = string.Empty;
        public int Dropped;
        public List<Outbound>? Undelivered; // Forwards dropped from the queue, for their senders (under the send lock).
        public bool Abusive; // Closed for abuse (CloseForAbuse): its address is put under abuse_penalty.
    }
#pragma warning restore SA1401

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Debug, "Connection {ConnectionId} from {Remote} lost: {Why}")]
        public static partial void ConnectionLost(ILogger logger, long connectionId, string remote, string why);

        [LoggerMessage(101, LogLevel.Error, "Connection {ConnectionId} from {Remote}: unexpected error while receiving")]
        public static partial void ReceiveLoopFailed(ILogger logger, Exception exception, long connectionId, string remote);

        [LoggerMessage(102, LogLevel.Debug, "Connection {ConnectionId} from {Remote}: sending failed: {Why}")]
        public static partial void SendFailed(ILogger logger, long connectionId, string remote, string why);

        [LoggerMessage(103, LogLevel.Debug, "Connection {ConnectionId} from {Remote}: no pong within ping_timeout ({Seconds} s); aborting")]
        public static partial void KeepAliveTimedOut(ILogger logger, long connectionId, string remote, double seconds);

        [LoggerMessage(104, LogLevel.Debug, "Connection {ConnectionId} from {Remote}: close handshake not finished within close_timeout ({Seconds} s); aborting")]
        public static partial void CloseTimedOut(ILogger logger, long connectionId, string remote, double seconds);
    }
}
