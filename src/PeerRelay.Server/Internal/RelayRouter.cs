using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PeerRelay.Protocol;
using PeerRelay.Protocol.Internal;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Internal;

/// <summary>
/// The relay logic: decodes each message a connection reads and registers, forwards or refuses it. Knows nothing
/// of Kestrel; it sees <see cref="RelayConnection"/>s, finds and reaches peers only through the
/// <see cref="IRelayRegistry"/> (this node's, or a fleet's), and lists this node's connections in the
/// <see cref="ClientRegistry"/>.
/// </summary>
internal sealed partial class RelayRouter(
    IRelayRegistry registry,
    ClientRegistry connections,
    IRelayAuthenticator authenticator,
    RelayMetrics metrics,
    RelayLimits limits,
    Microsoft.Extensions.Options.IOptions<RelayServerOptions> options,
    TimeProvider timeProvider,
    ILogger<RelayRouter> logger)
{
    internal const string QueueFullReason = "Send queue full: the client did not read its messages fast enough.";

    /// <summary>Reason of the 1013 close when the fleet's registry cannot be reached: the client retries.</summary>
    internal const string RegistryUnavailableReason = "Try again later: the relay's registry is unavailable.";

    // A peer not on this node can only be on another one when the registry is a fleet's.
    private readonly bool _fleet = registry is not LocalRelayRegistry;

    /// <summary>
    /// Longest a take-over waits for the old socket's close: the close timeout, after which the sweeper aborts it, and
    /// a second for the sweep to come round.
    /// </summary>
    private readonly TimeSpan _takeOverWait = options.Value.CloseTimeout + TimeSpan.FromSeconds(1);

    // One throttle per cause a client can trigger at will (issue 13): the metrics count every event, the log has at
    // most one line per second per cause, with the number skipped.
    private readonly LogThrottle _foreignUuidLog = new();
    private readonly LogThrottle _authFailedLog = new();
    private readonly LogThrottle _rejectedLog = new();
    private readonly LogThrottle _tooLargeLog = new();
    private readonly LogThrottle _notRegisteredLog = new();
    private readonly LogThrottle _unknownPeerLog = new();
    private readonly LogThrottle _slowReaderLog = new();
    private readonly LogThrottle _droppedOnCloseLog = new();

    // Registration and unregistration lines are per connection, not per message, but a client that reconnects at will
    // could still write them as fast as new_connection_rate lets it: a generous budget per second.
    private readonly LogThrottle _registeredLog = new(TimeSpan.FromSeconds(1), ConnectionLinesPerSecond);
    private readonly LogThrottle _unregisteredLog = new(TimeSpan.FromSeconds(1), ConnectionLinesPerSecond);

    /// <summary>How many registration and unregistration lines (each) are logged per second at most.</summary>
    internal const int ConnectionLinesPerSecond = 50;

    public ClientRegistry Registry => connections;

    public RelayMetrics Metrics => metrics;

    public void OnOpened(RelayConnection connection)
    {
        connections.AddConnection(connection);
        metrics.ConnectionOpened();
        if (logger.IsEnabled(LogLevel.Debug))
        {
            // Checked here: the client's address is formatted only for a line that is written.
            Log.ConnectionOpened(logger, connection.Id, connection.Remote);
        }
    }

    /// <summary>
    /// Acts on one complete text message, whose UTF-8 the frame reader has checked. <paramref name="message"/> is only
    /// valid until this returns (it may be the connection's read buffer): what acts on it later (a throttled message)
    /// works on a copy.
    /// </summary>
    public ValueTask HandleAsync(RelayConnection connection, ReadOnlySpan<byte> message)
    {
        metrics.MessageReceived(message.Length);
        connection.MessagesIn++;
        long now = 0; // One clock read per message, shared by the rate limit and the forward-duration metric.
        var wait = limits.Throttle(connection, ref now);
        if (wait is not { } delay)
        {
            return ValueTask.CompletedTask; // Closed for sustained flooding.
        }

        if (delay > TimeSpan.Zero)
        {
            var copy = ArrayPool<byte>.Shared.Rent(message.Length);
            message.CopyTo(copy);
            return HandleLaterAsync(connection, copy, message.Length, delay);
        }

        return Dispatch(connection, message, now);
    }

    /// <summary>
    /// Acts on a message of a connection over its rate after <paramref name="delay"/>, then returns its
    /// <paramref name="buffer"/> to the pool. The receive loop awaits this, so the connection is not read meanwhile:
    /// the sender is slowed by TCP flow control and nothing is dropped.
    /// </summary>
    private async ValueTask HandleLaterAsync(RelayConnection connection, byte[] buffer, int count, TimeSpan delay)
    {
        try
        {
            try
            {
                await Task.Delay(delay, timeProvider, connection.Aborted);
            }
            catch (OperationCanceledException)
            {
                return; // The connection went away meanwhile.
            }

            limits.Resumed(connection);
            await Dispatch(connection, buffer.AsSpan(0, count), now: 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ValueTask Dispatch(RelayConnection connection, ReadOnlySpan<byte> json, long now)
    {
        var received = metrics.ForwardDurationEnabled ? (now != 0 ? now : Stopwatch.GetTimestamp()) : 0;

        // A peer_connection in the layout every known client writes is forwarded without decoding its strings: the
        // sender's identity is spliced in front of the rest of its bytes, which the relay would have written the same.
        if (CanonicalPeerConnection.TryMatch(json, knownValidUtf8: true, out var peer, out var tail))
        {
            return Forward(connection, peer, json, tail, default, received);
        }

        if (!RelayCodec.TryDecode(json, out var frame, out var error))
        {
            Reject(connection, "decode", error);
            return ValueTask.CompletedTask;
        }

        switch (frame.MessageType)
        {
            case RelayMessageType.PeerConnection:
                return Forward(connection, frame.PeerUuid, json, default, frame, received);
            case RelayMessageType.RelayRegistration:
                return RegisterAsync(connection, frame.Uuid, frame.Name.GetString()!);
            default:
                // The reference crashes (1011) on a relay_response from a client; it is simply not a client message.
                Reject(connection, "unexpected_type", "a client may not send relay_response");
                return ValueTask.CompletedTask;
        }
    }

    public void OnMessageTooLarge(RelayConnection connection, int count, int limit, int code)
    {
        metrics.MessageRejected(code == RelayCloseCodes.MessageTooLarge ? "max_message_bytes" : "transport_limit");
        if (_tooLargeLog.ShouldLog(out var skipped))
        {
            Log.MessageTooLarge(logger, connection.Id, connection.Remote, count, limit, code, skipped);
        }
    }

    public void OnProtocolError(RelayConnection connection, int code, string problem)
    {
        metrics.MessageRejected(code == 1007 ? "invalid_utf8" : "protocol_error");
        if (_rejectedLog.ShouldLog(out var skipped))
        {
            Log.MessageRejected(logger, connection.Id, connection.Remote, problem, skipped);
        }
    }

    public void OnBinaryMessage(RelayConnection connection)
    {
        metrics.MessageRejected("binary");
        if (_rejectedLog.ShouldLog(out var skipped))
        {
            Log.MessageRejected(logger, connection.Id, connection.Remote, "binary frames are not part of the protocol", skipped);
        }
    }

    /// <summary>
    /// A forward from <paramref name="sender"/> that was still queued when its target's connection ended: it goes back
    /// to the sender with <c>error</c> set, as a forward to a peer that closed does, so that every forward is either
    /// written into the target's socket or answered (issue 13). Takes ownership of <paramref name="message"/>.
    /// </summary>
    public static void OnUndelivered(RelayConnection sender, OutboundMessage message)
    {
        try
        {
            // The encoded message is the sender's, stamped: its echo is the same message with an error. It is queued
            // whatever the sender's queue holds: it came out of the target's queue, so it adds no memory, and a sender
            // that reads is never cut as slow for what the relay returns to it at once (a target's whole queue).
            if (!sender.IsClosing && sender.Registration is { } source && RelayCodec.TryDecode(message.Memory.Span, out var sent, out _))
            {
                var error = Escaped(RelayDeliveryErrors.Describe(RelayDeliveryStatus.PeerClosed, sent.PeerUuid));
                sender.SendReturned(Encode(source, sent, error));
            }
        }
        finally
        {
            message.Return();
        }
    }

    public void OnDroppedOnClose(RelayConnection connection, int count)
    {
        metrics.MessageDropped("connection_closed", count);
        if (_droppedOnCloseLog.ShouldLog(out var skipped))
        {
            Log.DroppedOnClose(logger, connection.Id, connection.Remote, count, skipped);
        }
    }

    /// <summary>A connection's sending stayed stuck for <c>slow_reader_timeout</c> (from the sweeper): it is cut.</summary>
    public void OnSendStalled(RelayConnection connection)
    {
        if (!connection.IsClosing)
        {
            metrics.LimitHit("slow_reader_timeout");
            CloseSlowReader(connection);
        }
    }

    public void OnClosed(RelayConnection connection, int closeCode)
    {
        connections.Remove(connection);
        OnReleased(registry.Release(connection), closeCode);
        metrics.ConnectionClosed(closeCode);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Log.ConnectionClosed(logger, connection.Id, connection.Remote, closeCode);
        }
    }

    /// <summary>Releases the connection's UUID now (it is being closed with <paramref name="closeCode"/>).</summary>
    public void Release(RelayConnection connection, int closeCode) => OnReleased(registry.Release(connection), closeCode);

    private void OnReleased(RelayClientRegistration? released, int closeCode)
    {
        if (released is not null)
        {
            metrics.ClientUnregistered();
            if (logger.IsEnabled(LogLevel.Information) && _unregisteredLog.ShouldLog(out var skipped))
            {
                Log.Unregistered(logger, released.Uuid, released.Name, closeCode, skipped);
            }
        }
    }

    /// <summary>
    /// Runs an authenticator that may block (<see cref="IRelayAuthenticator.RunsInline"/> false) on the thread pool, so
    /// that it never holds the event loop that read the registration (and every other connection on it).
    /// </summary>
    private Task<RelayAuthResult> AuthenticateOnThreadPoolAsync(RelayConnection connection) =>
        Task.Run(() => authenticator.AuthenticateAsync(connection.Handshake, connection.Aborted).AsTask(), connection.Aborted);

    private void Reject(RelayConnection connection, string reason, string detail)
    {
        metrics.MessageRejected(reason);
        if (_rejectedLog.ShouldLog(out var skipped))
        {
            Log.MessageRejected(logger, connection.Id, connection.Remote, detail, skipped);
        }

        connection.Close(RelayCloseCodes.UnknownMessage, RelayCloseCodes.UnknownMessageReason);
    }

    private async ValueTask RegisterAsync(RelayConnection connection, Guid uuid, string name)
    {
        var start = Stopwatch.GetTimestamp();
        RelayAuthResult auth;
        try
        {
            // Without authentication the handshake is not even looked at (nor rebuilt from the kept request head).
            auth = authenticator is NoAuthenticator
                ? NoAuthenticator.Anonymous
                : authenticator.RunsInline
                    ? await authenticator.AuthenticateAsync(connection.Handshake, connection.Aborted)
                    : await AuthenticateOnThreadPoolAsync(connection);
        }
        catch (OperationCanceledException) when (connection.Aborted.IsCancellationRequested)
        {
            return;
        }

        var cause = auth.Succeeded ? null : auth.CloseCode switch
        {
            RelayCloseCodes.Unauthorized => "unauthorized",
            RelayCloseCodes.Forbidden => "forbidden",
            _ => "unavailable",
        };
        metrics.Authenticated(start, cause);
        if (!auth.Succeeded)
        {
            metrics.Registration(cause!, start);
            if (_authFailedLog.ShouldLog(out var skipped))
            {
                Log.AuthenticationFailed(logger, connection.Remote, auth.CloseCode, auth.Reason!, skipped);
            }

            connection.Close(auth.CloseCode, auth.Reason!);
            return;
        }

        var registration = new RelayClientRegistration(uuid, name, auth.User);
        var previous = connection.Registration;

        // Nothing forwarded to the UUID may overtake its relay_response, which may wait for a take-over below.
        connection.Hold();
        RelayRegistrationResult result;
        try
        {
            // This node's registry never waits: no cancellation source per client for it (48 bytes an idle client kept).
            var pending = registry.RegisterAsync(connection, registration, _fleet ? connection.Aborted : CancellationToken.None);
            result = pending.IsCompletedSuccessfully ? pending.Result : await pending;
        }
        catch (OperationCanceledException) when (connection.Aborted.IsCancellationRequested)
        {
            connection.Release(null);
            return;
        }

        switch (result.Status)
        {
            case RelayRegistrationStatus.ForeignUuid:
                connection.Release(null);
                metrics.Registration("uuid_of_other_user", start);
                if (_foreignUuidLog.ShouldLog(out var skipped))
                {
                    Log.ForeignUuid(logger, auth.User, uuid, skipped);
                }

                connection.Close(
                    RelayCloseCodes.Forbidden,
                    $"{RelayCloseCodes.ForbiddenPrefix}The client UUID {uuid} is already registered to another user.");
                return;
            case RelayRegistrationStatus.TooManyClients:
                connection.Release(null);
                ReplyJson(connection, limits.RefuseTooManyClients(auth.User, uuid, start));
                connection.Close(RelayCloseCodes.PolicyViolation, RelayLimits.TooManyClientsReason);
                return;
            case RelayRegistrationStatus.Unavailable:
                connection.Release(null);
                metrics.Registration("registry_unavailable", start);
                connection.Close(RelayCloseCodes.TryAgainLater, RegistryUnavailableReason);
                return;
            case RelayRegistrationStatus.TookOver when result.Displaced is RelayConnection displaced:
                // The reference's order, which ProxyStore's client relies on: the old socket is closed with 4004, and the new
                // registration is confirmed only once that close has completed (the old client answered it and its socket
                // is closed, or close_timeout passed and it was aborted). Only this connection waits; messages for the
                // UUID already go to it and are held behind its relay_response. (A socket on another node: the fleet's
                // registry has done the same before it returned.)
                Log.TakenOver(logger, uuid, displaced.Id, connection.Id);
                displaced.Close(RelayCloseCodes.DuplicateRegistration, RelayCloseCodes.DuplicateRegistrationReason);
                metrics.Registration("took_over", start);
                try
                {
                    if (!await displaced.WaitEndedAsync(_takeOverWait, connection.Aborted))
                    {
                        Log.TakeOverCloseOverran(logger, uuid, displaced.Id, _takeOverWait.TotalSeconds);
                    }
                }
                catch (OperationCanceledException)
                {
                    connection.Release(null); // This connection is gone too; nothing to confirm.
                    return;
                }

                break;
            default:
                metrics.Registration(result.Status switch
                {
                    RelayRegistrationStatus.Repeated => "repeated",
                    RelayRegistrationStatus.TookOver => "took_over",
                    _ => "ok",
                }, start);
                if (previous is null)
                {
                    metrics.ClientRegistered(); // (A take-over from another node: this node gained a client.)
                }

                break;
        }

        // Every registration and close would pass the throttle (a clock read, an interlocked add): not when the
        // level is off.
        if (logger.IsEnabled(LogLevel.Information) && _registeredLog.ShouldLog(out var skippedLines))
        {
            Log.Registered(logger, uuid, name, auth.User, connection.Remote, skippedLines);
        }
        var writer = PooledBufferWriter.ForCurrentThread;
        writer.Start(128);
        RelayCodec.WriteResponse(writer, success: true, message: null, error: false);
        connection.Release(writer.Detach());
    }

    /// <summary>
    /// Forwards a <c>peer_connection</c> to <paramref name="peer"/>: one matched by
    /// <see cref="RelayCodec.TryMatchPeerConnection"/> (<paramref name="tail"/> set; stamped by splicing, decoded only
    /// if it comes back to its sender) or one decoded into <paramref name="decoded"/>.
    /// </summary>
    private ValueTask Forward(
        RelayConnection connection, Guid peer, ReadOnlySpan<byte> json, scoped ReadOnlySpan<byte> tail, scoped in RelayFrame decoded, long received)
    {
        var source = connection.Registration;
        if (source is null)
        {
            metrics.MessageRejected("not_registered");
            if (_notRegisteredLog.ShouldLog(out var skipped))
            {
                Log.NotRegistered(logger, connection.Id, connection.Remote, skipped);
            }

            connection.Close(RelayCloseCodes.Forbidden, RelayCloseCodes.NotRegisteredReason);
            return ValueTask.CompletedTask;
        }

        var target = registry.Find(peer) as RelayConnection;
        if (target is null && _fleet)
        {
            return ForwardToNode(connection, source, peer, Stamp(source, tail, decoded), received);
        }

        var targetRegistration = target?.Registration;

        // One text for "unknown" and "another user's": the answer must not tell whether a foreign UUID is online.
        if (target is null || targetRegistration is null || targetRegistration.User != source.User)
        {
            UnknownPeer(source, peer);
            Echo(connection, source, json, tail, decoded, RelayDeliveryErrors.Describe(RelayDeliveryStatus.UnknownPeer, peer));
            return ValueTask.CompletedTask;
        }

        switch (tail.IsEmpty ? target.TrySend(Stamp(source, tail, decoded), connection) : target.TrySendStamped(source, tail, connection))
        {
            case SendResult.Queued:
                metrics.MessageForwarded();
                if (received != 0)
                {
                    metrics.Forwarded(received);
                }

                Log.Forwarded(logger, source.Uuid, peer);
                break;
            case SendResult.QueueFull:
                metrics.MessageDropped("queue_full");
                CloseSlowReader(target);
                Echo(connection, source, json, tail, decoded, RelayDeliveryErrors.Describe(RelayDeliveryStatus.QueueFull, peer));
                break;
            default:
                metrics.MessageDropped("peer_closed");
                Echo(connection, source, json, tail, decoded, RelayDeliveryErrors.Describe(RelayDeliveryStatus.PeerClosed, peer));
                break;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The forwarded message, stamped with the sender's registered identity, in a pooled buffer: spliced from a matched
    /// message's <paramref name="tail"/>, or encoded from <paramref name="decoded"/>. Uses the receive loop's writer.
    /// </summary>
    internal static OutboundMessage Stamp(RelayClientRegistration source, scoped ReadOnlySpan<byte> tail, scoped in RelayFrame decoded)
    {
        if (tail.IsEmpty)
        {
            return Encode(source, decoded, decoded.ErrorText);
        }

        var writer = PooledBufferWriter.ForCurrentThread;
        writer.Start(RelayCodec.GetStampedPeerConnectionLength(source.EscapedName, tail));
        RelayCodec.WriteStampedPeerConnection(writer, source.Uuid, source.EscapedName, tail);
        return writer.Detach();
    }

    /// <summary>Sends a forward back to its sender with <c>error</c> set; a matched message is decoded for it now.</summary>
    private void Echo(
        RelayConnection connection, RelayClientRegistration source, ReadOnlySpan<byte> json, scoped ReadOnlySpan<byte> tail, scoped in RelayFrame decoded, string error)
    {
        if (tail.IsEmpty)
        {
            Echo(connection, source, decoded, error);
        }
        else if (RelayCodec.TryDecode(json, out var frame, out _))
        {
            Echo(connection, source, frame, error);
        }
    }

    private void UnknownPeer(RelayClientRegistration source, Guid peer)
    {
        metrics.MessageDropped("unknown_peer");
        if (_unknownPeerLog.ShouldLog(out var skipped))
        {
            Log.UnknownPeer(logger, source.Uuid, peer, skipped);
        }
    }

    /// <summary>
    /// Forwards a node's connection may have in flight to other nodes before its receive loop waits for one: enough
    /// for a burst (trickled ICE candidates), few enough that a sender cannot pile messages up behind a slow registry.
    /// </summary>
    internal const int MaxForwardsInFlight = 64;

    /// <summary>
    /// Hands a message for a UUID no connection of this node holds to the fleet's registry. The registry fixes the
    /// message's place in the order of the sender's messages when it is called, so the receive loop need not wait for
    /// the outcome: it goes on reading (up to <see cref="MaxForwardsInFlight"/> forwards in flight), and the outcome is
    /// handled where the registry completes it (<see cref="PendingForward"/>). A message that reached no node comes
    /// back to its sender with <c>error</c> set, as on one node.
    /// </summary>
    private ValueTask ForwardToNode(RelayConnection connection, RelayClientRegistration source, Guid peer, OutboundMessage message, long received)
    {
        var delivery = registry.DeliverAsync(source, peer, message.Memory, connection.Aborted);
        if (delivery.IsCompleted)
        {
            OnDelivered(connection, source, peer, message, PendingForward.Outcome(delivery.ConfigureAwait(false).GetAwaiter()), received);
            return ValueTask.CompletedTask;
        }

        if (Interlocked.Increment(ref connection.ForwardsInFlight) <= MaxForwardsInFlight)
        {
            PendingForward.Start(this, connection, source, peer, message, received, delivery);
            return ValueTask.CompletedTask;
        }

        return ForwardToNodeWaitingAsync(connection, source, peer, message, received, delivery);
    }

    /// <summary>Too many forwards in flight: the receive loop waits for this one (TCP then slows the sender).</summary>
    private async ValueTask ForwardToNodeWaitingAsync(
        RelayConnection connection, RelayClientRegistration source, Guid peer, OutboundMessage message, long received, ValueTask<RelayDeliveryStatus> delivery)
    {
        var status = RelayDeliveryStatus.Unavailable; // A cancelled forward: counted as on every path (PendingForward.Outcome).
        try
        {
            status = await delivery;
        }
        catch (OperationCanceledException)
        {
        }

        Interlocked.Decrement(ref connection.ForwardsInFlight);
        OnDelivered(connection, source, peer, message, status, received);
    }

    /// <summary>
    /// The outcome of a forward to another node, on whichever thread the registry completed it: counted, and a message
    /// that reached no node goes back to its sender with <c>error</c> set. Takes ownership of <paramref name="message"/>.
    /// </summary>
    internal void OnDelivered(RelayConnection connection, RelayClientRegistration source, Guid peer, OutboundMessage message, RelayDeliveryStatus status, long received)
    {
        try
        {
            if (status == RelayDeliveryStatus.Delivered)
            {
                metrics.MessageForwarded();
                if (received != 0)
                {
                    metrics.Forwarded(received);
                }

                Log.Forwarded(logger, source.Uuid, peer);
                return;
            }

            if (status == RelayDeliveryStatus.UnknownPeer)
            {
                UnknownPeer(source, peer);
            }
            else
            {
                metrics.MessageDropped("registry_unavailable");
            }

            // The encoded message is the sender's, stamped: its echo is the same message with an error.
            if (RelayCodec.TryDecode(message.Memory.Span, out var sent, out _))
            {
                Echo(connection, source, sent, RelayDeliveryErrors.Describe(status, peer));
            }
        }
        finally
        {
            message.Return();
        }
    }

    /// <summary>
    /// Encodes <paramref name="frame"/> into a pooled buffer, stamped with the sender's registered identity and
    /// carrying <paramref name="error"/>. Uses the calling thread's writer (the receive loop's, or the thread that
    /// completed a forward to another node).
    /// </summary>
    private static OutboundMessage Encode(RelayClientRegistration source, scoped in RelayFrame frame, scoped RawJsonString error)
    {
        var writer = PooledBufferWriter.ForCurrentThread;
        writer.Start(256 + frame.Description.Escaped.Length + frame.DescriptionType.Escaped.Length + source.EscapedName.Length + error.Escaped.Length);
        RelayCodec.WritePeerConnection(
            writer,
            source.Uuid,
            new RawJsonString(source.EscapedName, hasEscapes: false),
            frame.PeerUuid,
            frame.DescriptionType,
            frame.Description,
            error);
        return writer.Detach();
    }

    /// <summary>Sends a peer connection message back to its sender with <c>error</c> set.</summary>
    private void Echo(RelayConnection connection, RelayClientRegistration source, scoped in RelayFrame frame, string error) =>
        Reply(connection, Encode(source, frame, Escaped(error)));

    private static RawJsonString Escaped(string error) => new(RelayCodec.EscapeString(error), hasEscapes: false);

    /// <summary>Sends a response encoded beforehand (a limit's refusal).</summary>
    private void ReplyJson(RelayConnection connection, byte[] json)
    {
        var writer = PooledBufferWriter.ForCurrentThread;
        writer.Start(json.Length);
        writer.Write(json);
        Reply(connection, writer.Detach());
    }

    /// <summary>Queues an answer to the connection whose message is being handled; a full queue drops it as slow.</summary>
    private void Reply(RelayConnection connection, OutboundMessage message)
    {
        if (connection.TrySend(message) == SendResult.QueueFull)
        {
            metrics.MessageDropped("queue_full");
            CloseSlowReader(connection);
        }
    }

    /// <summary>
    /// The one place a client that does not read is dropped (its queue is full, or its sending stayed stuck for
    /// <c>slow_reader_timeout</c>): it is closed with 1008 and its UUID released at once.
    /// </summary>
    internal void CloseSlowReader(RelayConnection connection)
    {
        if (_slowReaderLog.ShouldLog(out var skipped))
        {
            Log.SlowReader(logger, connection.Id, connection.Remote, connection.Registration?.Uuid, skipped);
        }

        connection.CloseForAbuse(QueueFullReason, dropQueued: true);

        // Release its UUID now: messages for it fail at once rather than wait out the close timeout.
        OnReleased(registry.Release(connection), RelayCloseCodes.PolicyViolation);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Connection {ConnectionId} opened from {Remote}")]
        public static partial void ConnectionOpened(ILogger logger, long connectionId, string remote);

        [LoggerMessage(2, LogLevel.Debug, "Connection {ConnectionId} from {Remote} closed with code {CloseCode}")]
        public static partial void ConnectionClosed(ILogger logger, long connectionId, string remote, int closeCode);

        [LoggerMessage(3, LogLevel.Information, "Registered client {Uuid} ({Name}) of user {User} from {Remote} ({Skipped} more registrations not logged)")]
        public static partial void Registered(ILogger logger, Guid uuid, string name, RelayUser user, string remote, int skipped);

        [LoggerMessage(4, LogLevel.Information, "Unregistered client {Uuid} ({Name}); connection closed with code {CloseCode} ({Skipped} more unregistrations not logged)")]
        public static partial void Unregistered(ILogger logger, Guid uuid, string name, int closeCode, int skipped);

        [LoggerMessage(5, LogLevel.Information, "Client {Uuid} registered again on connection {NewConnection}; closing connection {OldConnection} with 4004")]
        public static partial void TakenOver(ILogger logger, Guid uuid, long oldConnection, long newConnection);

        [LoggerMessage(6, LogLevel.Warning, "User {User} tried to register UUID {Uuid}, which another user holds ({Skipped} more not logged)")]
        public static partial void ForeignUuid(ILogger logger, RelayUser user, Guid uuid, int skipped);

        [LoggerMessage(7, LogLevel.Warning, "Failed to authenticate the client at {Remote}: closing with {CloseCode} ({Reason}) ({Skipped} more not logged)")]
        public static partial void AuthenticationFailed(ILogger logger, string remote, int closeCode, string reason, int skipped);

        [LoggerMessage(8, LogLevel.Warning, "Connection {ConnectionId} from {Remote} sent an invalid message, closing with 4000: {Why} ({Skipped} more not logged)")]
        public static partial void MessageRejected(ILogger logger, long connectionId, string remote, string why, int skipped);

        [LoggerMessage(9, LogLevel.Warning, "Connection {ConnectionId} from {Remote} sent {Bytes}+ bytes, over the limit of {Limit}; closing with {CloseCode} ({Skipped} more not logged)")]
        public static partial void MessageTooLarge(ILogger logger, long connectionId, string remote, int bytes, int limit, int closeCode, int skipped);

        [LoggerMessage(10, LogLevel.Warning, "Connection {ConnectionId} from {Remote} forwarded before registering; closing with 4002 ({Skipped} more not logged)")]
        public static partial void NotRegistered(ILogger logger, long connectionId, string remote, int skipped);

        [LoggerMessage(11, LogLevel.Warning, "Client {Source} sent a message to unknown peer {Peer}; returned it with an error ({Skipped} more not logged)")]
        public static partial void UnknownPeer(ILogger logger, Guid source, Guid peer, int skipped);

        [LoggerMessage(12, LogLevel.Debug, "Forwarded a message from {Source} to {Peer}")]
        public static partial void Forwarded(ILogger logger, Guid source, Guid peer);

        [LoggerMessage(13, LogLevel.Warning, "Connection {ConnectionId} from {Remote} (client {Uuid}) does not read its messages (send queue full, or nothing sent for slow_reader_timeout); closing with 1008 ({Skipped} more not logged)")]
        public static partial void SlowReader(ILogger logger, long connectionId, string remote, Guid? uuid, int skipped);

        [LoggerMessage(15, LogLevel.Warning, "Client {Uuid}: the old connection {OldConnection} did not end within {Seconds} s of its 4004; confirming the new registration anyway")]
        public static partial void TakeOverCloseOverran(ILogger logger, Guid uuid, long oldConnection, double seconds);

        [LoggerMessage(14, LogLevel.Warning, "Connection {ConnectionId} from {Remote} closed with {Count} messages still queued; they were dropped ({Skipped} more not logged)")]
        public static partial void DroppedOnClose(ILogger logger, long connectionId, string remote, int count, int skipped);
    }
}
