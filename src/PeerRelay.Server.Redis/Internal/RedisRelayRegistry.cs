using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerRelay.Protocol;
using PeerRelay.Server.Routing;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The registry of a fleet: each node keeps its own connections in a <see cref="LocalRelayRegistry"/> and the fleet's
/// ownership of every UUID in Redis, changed only by Lua scripts (one atomic step per register, release and forward).
/// A message for a UUID held on another node goes to that node's channel; a take-over of a socket on another node
/// waits for that node to close it with 4004. Node leases, sweeping and Redis outages: <c>RedisRelayRegistry.Node.cs</c>.
/// </summary>
internal sealed partial class RedisRelayRegistry : IRelayRegistry
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly LocalRelayRegistry _local = new(maxClientsPerUser: 0); // Counted in Redis, over the fleet.
    private readonly RedisScaleOutOptions _options;
    private readonly RelayServerOptions _relayOptions;
    private readonly ClusterMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _nodeId;
    private readonly byte[] _nodeBytes;
    private readonly string _incarnation = Guid.NewGuid().ToString("N");
    private readonly string _prefix;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<bool>> _pendingCloses = new();
    private readonly LocalNodeSource _localNode;
    private long _nextRequestId;

    public RedisRelayRegistry(
        IOptions<RedisScaleOutOptions> options,
        IOptions<RelayServerOptions> relayOptions,
        ClusterMetrics metrics,
        TimeProvider timeProvider,
        LocalNodeSource localNode,
        ILogger<RedisRelayRegistry> logger)
    {
        _localNode = localNode;
        _options = options.Value;
        _relayOptions = relayOptions.Value;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        _nodeId = _options.NodeId;
        _nodeBytes = Encoding.UTF8.GetBytes(_nodeId);
        _prefix = "{" + _options.KeyPrefix + "}:";
    }

    /// <summary>Gets this node's id.</summary>
    public string NodeId => _nodeId;

    /// <summary>Gets the registry of this node's own connections.</summary>
    public LocalRelayRegistry Local => _local;

    public IRelayClient? Find(Guid uuid) => _local.Find(uuid);

    public async ValueTask<RelayRegistrationResult> RegisterAsync(IRelayClient client, RelayClientRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(registration);
        if (!LeaseHeld || _commands is not { } commands)
        {
            Log.RegistrationUnavailable(_logger, registration.Uuid, "this node holds no lease in Redis");
            return new(RelayRegistrationStatus.Unavailable);
        }

        string[] reply;
        try
        {
            reply = await commands.SendAsync(new RedisRequest(
                RedisScripts.Register,
                [
                    ClientKey(registration.Uuid), _prefix, registration.Uuid.ToString(), registration.User.Id, _nodeId, _incarnation, client.Id,
                    _relayOptions.MaxClientsPerUser, client.Registration?.Uuid.ToString() ?? string.Empty, "claim",
                ])).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _metrics.RedisError("register");
            Log.RegistrationUnavailable(_logger, registration.Uuid, ex.Message);
            return new(RelayRegistrationStatus.Unavailable);
        }

        switch (reply[0])
        {
            case "foreign":
                return new(RelayRegistrationStatus.ForeignUuid);
            case "limit":
                return new(RelayRegistrationStatus.TooManyClients);
            case "took" when reply.Length == 3 && reply[1] != _nodeId:
                // The old socket is on another node: it is closed with 4004, and its close completed, before the new
                // registration is confirmed (the order of one node; PROTOCOL.md).
                var node = reply[1];
                var connection = long.Parse(reply[2], System.Globalization.CultureInfo.InvariantCulture);
                Log.TakingOverRemote(_logger, registration.Uuid, node, connection, client.Id);
                _metrics.TakeOver();
                await CloseOnNodeAsync(node, registration.Uuid, connection, RelayCloseCodes.DuplicateRegistration, RelayCloseCodes.DuplicateRegistrationReason, cancellationToken).ConfigureAwait(false);
                var local = _local.Register(client, registration);
                return local.Status == RelayRegistrationStatus.Registered ? new(RelayRegistrationStatus.TookOver) : local;
            case "lease":
                // Redis has no lease of this node while the node's own reckoning says it cannot have run out: Redis lost
                // its data (restarted empty, flushed, failed over to a replica behind). Only this registration is refused
                // (1013, retried); the node's other clients stay, and the next heartbeat, at once, renews the lease and
                // claims them again. A lease that did run out is the heartbeat's to find (CheckLease gives the clients up).
                Log.RegistrationUnavailable(_logger, registration.Uuid, "Redis holds no lease of this node (it lost its data?); renewing it");
                Volatile.Write(ref _beatSoon, true);
                return new(RelayRegistrationStatus.Unavailable);
            default:
                // "ok", "repeat", or "took" from a socket of this node (the local registry returns it as displaced).
                return _local.Register(client, registration);
        }
    }

    public RelayClientRegistration? Release(IRelayClient client)
    {
        var registration = _local.Release(client);
        if (registration is not null)
        {
            _ = ReleaseInRedisAsync(registration.Uuid, client.Id);
        }

        return registration;
    }

    /// <summary>
    /// Runs the forward script on the node's own connection: the message is encoded into the connection's next write
    /// before this returns (the order of the calls is the order Redis runs them); the task completes with Redis's reply,
    /// on the connection's thread. <paramref name="message"/> must stay valid until then (a NOSCRIPT sends it again).
    /// </summary>
    public ValueTask<RelayDeliveryStatus> DeliverAsync(RelayClientRegistration source, Guid peer, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (_forward is not { } context || _commands is not { } commands)
        {
            _metrics.Publish("failed"); // Redis has not answered yet since this node started.
            return new(RelayDeliveryStatus.Unavailable);
        }

        var command = ForwardCommand.Rent(context, source.Uuid, source.User.Id, peer, message);
        var task = command.Task;
        if (!commands.TrySend(command))
        {
            command.Unavailable();
        }

        return task;
    }

    public async ValueTask<bool> CloseAsync(Guid uuid, int code, string reason, CancellationToken cancellationToken = default)
    {
        if (_local.Find(uuid) is { } client)
        {
            await client.CloseAsync(code, reason).WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (_database is not { } database)
        {
            return false;
        }

        var holder = await database.HashGetAsync(ClientKey(uuid), ["n", "c"]).ConfigureAwait(false);
        return !holder[0].IsNull
            && await CloseOnNodeAsync((string)holder[0]!, uuid, (long)holder[1], code, reason, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks <paramref name="node"/> to close <paramref name="uuid"/>'s socket and waits for its answer.</summary>
    /// <returns>True when the node closed a socket; false when the node is gone, held no such socket or did not answer.</returns>
    private async Task<bool> CloseOnNodeAsync(string node, Guid uuid, long connectionId, int code, string reason, CancellationToken cancellationToken)
    {
        var requestId = Interlocked.Increment(ref _nextRequestId);
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingCloses[requestId] = answer;

        // The other node waits up to close_timeout for the client's answer, then aborts it; this one waits that long
        // and one Redis command time-out more (the request and the answer each pass through Redis; on a loaded host
        // either may take that long), publishing again while the request reaches no one although the node is alive
        // (the old socket must not stay).
        var wait = _relayOptions.CloseTimeout + CommandTimeout;
        var started = _timeProvider.GetTimestamp();
        var envelope = NodeEnvelope.Close(uuid, connectionId, requestId, code, _nodeBytes, reason);
        try
        {
            while (true)
            {
                try
                {
                    if (await PublishAsync(node, envelope).ConfigureAwait(false) > 0)
                    {
                        break;
                    }

                    if (!await _database!.KeyExistsAsync(LeaseKey(node)).ConfigureAwait(false))
                    {
                        return false; // The node is gone; so is its socket.
                    }

                    // Alive but between two subscriptions of its channel (its listener reconnecting): again shortly.
                    Log.CloseOnNodeFailed(_logger, uuid, node, "its channel has no subscriber yet");
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    Log.CloseOnNodeFailed(_logger, uuid, node, ex.Message);
                }

                if (_timeProvider.GetElapsedTime(started) >= wait)
                {
                    return false;
                }

                await Task.Delay(RetryDelay, _timeProvider, cancellationToken).ConfigureAwait(false);
            }

            var left = wait - _timeProvider.GetElapsedTime(started);
            return await answer.Task.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.CloseOnNodeFailed(_logger, uuid, node, $"no answer within {wait.TotalSeconds} s");
            return false;
        }
        finally
        {
            _pendingCloses.TryRemove(requestId, out _);
        }
    }

    private async Task ReleaseInRedisAsync(Guid uuid, long connectionId)
    {
        if (_commands is not { } commands)
        {
            _needsReconcile = true;
            return;
        }

        try
        {
            await commands.SendAsync(new RedisRequest(
                RedisScripts.Release,
                [ClientKey(uuid), _prefix, uuid.ToString(), _nodeId, _incarnation, connectionId, "release"])).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Pruned once Redis answers again (ReconcileAsync).
            _metrics.RedisError("release");
            _needsReconcile = true;
            Log.ReleaseFailed(_logger, uuid, ex.Message);
        }
    }

    /// <summary>One message from another node, in the order that node sent it (on the channel listener's read loop).</summary>
    private void OnEnvelope(ReadOnlySpan<byte> span)
    {
        if (span.IsEmpty)
        {
            return;
        }

        switch ((EnvelopeKind)span[0])
        {
            case EnvelopeKind.Message when NodeEnvelope.TryReadMessage(span, out var peer, out var origin, out var json):
                _metrics.Received("message");
                var status = _local.Find(peer)?.Send(json) ?? RelayDeliveryStatus.UnknownPeer;
                if (status != RelayDeliveryStatus.Delivered)
                {
                    EchoToOrigin(origin, json, peer, status);
                }

                break;
            case EnvelopeKind.Echo when NodeEnvelope.TryReadEcho(span, out var target, out var json):
                _metrics.Received("echo");
                if ((_local.Find(target)?.Send(json) ?? RelayDeliveryStatus.UnknownPeer) != RelayDeliveryStatus.Delivered)
                {
                    Log.EchoDropped(_logger, target);
                }

                break;
            case EnvelopeKind.Close when NodeEnvelope.TryReadClose(span, out var uuid, out var connectionId, out var requestId, out var code, out var replyNode, out var reason):
                _metrics.Received("close");
                _ = CloseForNodeAsync(uuid, connectionId, requestId, code, reason, Encoding.UTF8.GetString(replyNode));
                break;
            case EnvelopeKind.Ack when NodeEnvelope.TryReadAck(span, out var requestId, out var closed):
                _metrics.Received("ack");
                if (_pendingCloses.TryRemove(requestId, out var answer))
                {
                    answer.TrySetResult(closed);
                }

                break;
            default:
                Log.BadEnvelope(_logger, span.Length);
                break;
        }
    }

    /// <summary>Closes a socket of this node for another node (a take-over there), then answers it.</summary>
    private async Task CloseForNodeAsync(Guid uuid, long connectionId, long requestId, int code, string reason, string replyNode)
    {
        var closed = false;
        try
        {
            // The connection id guards against a late request: a newer socket of the same UUID is never closed.
            if (_local.Find(uuid) is { } client && (connectionId == 0 || client.Id == connectionId))
            {
                Log.ClosingForNode(_logger, uuid, client.Id, code, replyNode);
                await client.CloseAsync(code, reason).ConfigureAwait(false);
                closed = true;
            }

            await PublishAsync(replyNode, NodeEnvelope.Ack(requestId, closed)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.CloseOnNodeFailed(_logger, uuid, replyNode, ex.Message);
        }
    }

    /// <summary>Returns an undeliverable message to its sender's node with <c>error</c> set, as one node does.</summary>
    private void EchoToOrigin(ReadOnlySpan<byte> originNode, ReadOnlySpan<byte> json, Guid peer, RelayDeliveryStatus status)
    {
        if (!RelayCodec.TryDecode(json, out var frame, out _) || frame.MessageType != RelayMessageType.PeerConnection)
        {
            return;
        }

        var writer = new ArrayBufferWriter<byte>(json.Length + 160);
        var error = RelayCodec.EscapeString(RelayDeliveryErrors.Describe(status, peer));
        RelayCodec.WritePeerConnection(writer, frame.SourceUuid, frame.SourceName, frame.PeerUuid, frame.DescriptionType, frame.Description, new RawJsonString(error, hasEscapes: false));
        var echo = NodeEnvelope.Echo(frame.SourceUuid, writer.WrittenSpan);
        _ = EchoAsync(Encoding.UTF8.GetString(originNode), echo);
    }

    private async Task EchoAsync(string node, byte[] envelope)
    {
        try
        {
            await PublishAsync(node, envelope).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _metrics.RedisError("echo");
        }
    }

    /// <summary>Publishes <paramref name="envelope"/> on <paramref name="node"/>'s channel; returns how many nodes got it.</summary>
    private async Task<long> PublishAsync(string node, byte[] envelope)
    {
        var commands = _commands ?? throw NodeCommandConnection.NotConnected();
        var reply = await commands.SendAsync(new RedisRequest(_publishCommand, [_prefix + "ch:" + node, envelope])).ConfigureAwait(false);
        return long.Parse(reply[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The key of a UUID's registration.</summary>
    private string ClientKey(Guid uuid) => _prefix + "c:" + uuid.ToString();
}
