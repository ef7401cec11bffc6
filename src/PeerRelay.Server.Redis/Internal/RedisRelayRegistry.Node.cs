using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerRelay.Protocol;
using PeerRelay.Server.Routing;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The node's life in the fleet: connect, subscribe to its channel, hold a lease (renewed every heartbeat), sweep the
/// registrations of dead nodes, re-claim its own after Redis came back, and give up its clients when it cannot renew
/// its lease in time, so that no UUID is ever held on two nodes.
/// </summary>
internal sealed partial class RedisRelayRegistry : IHostedLifecycleService, IAsyncDisposable
{
    /// <summary>1013 after a lost lease: ProxyStore's client reconnects (never 4004, which it treats as final).</summary>
    internal const string LeaseLostReason = "Relay node lost its registry lease; reconnect.";

    private const int SweepBatch = 1000;
    private static readonly TimeSpan MinCommandTimeout = TimeSpan.FromSeconds(2);
    private const int ReconcileBatch = 256;
    private const string AuthenticationProblem = "Redis refused this node's user or password (cluster.redis)";

    private readonly CancellationTokenSource _stopping = new();
    private ConnectionMultiplexer? _redis;
    private IDatabase? _database;
    private ISubscriber? _subscriber;
    private ConfigurationOptions? _configuration;
    private NodeChannelListener? _listener;
    private NodeCommandConnection? _commands;
    private ForwardContext? _forward;
    private string _publishCommand = "PUBLISH";
    private bool _sharded;
    private Task? _loop;
    private volatile bool _leaseHeld;
    private volatile string? _connectionFailure;
    private volatile bool _needsReconcile = true;
    // A heartbeat at the loop's next check (Interlocked): a script found no lease of this node in Redis. The heartbeat
    // creates it again and, being told so, claims this node's registrations again.
    private bool _beatSoon;
    private int _upkeepRunning;
    private int _channelSubscriptions;
    private volatile bool _lastBeatOk;
    private long _leaseValidUntil;
    private long _lastRenewalSent;
    private string? _problem = "not connected to Redis yet";

    /// <summary>Gets how long a Redis command may wait for its reply (the configuration's <c>asyncTimeout</c>).</summary>
    private TimeSpan CommandTimeout => TimeSpan.FromMilliseconds(_configuration!.AsyncTimeout);

    /// <summary>Gets a value indicating whether this node holds its lease (it may register clients).</summary>
    public bool LeaseHeld => _leaseHeld;

    /// <summary>Gets what keeps this node from being a full member of the fleet, or null when nothing does.</summary>
    public string? Problem => _problem;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var configuration = ConfigurationOptions.Parse(_options.Configuration);
        configuration.AbortOnConnectFail = false; // A node starts (degraded) while Redis is away, and connects when it returns.
        configuration.BacklogPolicy = BacklogPolicy.FailFast; // Fail at once while disconnected: forwards get an error, not a wait.
        configuration.ClientName ??= "peerrelay";
        if (_options.CaFile is { } caFile)
        {
            // Checked with the host name; the node's own connections (RedisLink) take the same check.
            configuration.TrustIssuer(caFile);
        }

        if (!_options.Configuration.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            // Long enough for a busy machine's round trip, short enough that a forward to a frozen Redis fails soon.
            configuration.AsyncTimeout = (int)Math.Max(_options.HeartbeatInterval.TotalMilliseconds, MinCommandTimeout.TotalMilliseconds);
        }

        _configuration = configuration;
        _redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        _redis.ConnectionFailed += (_, e) => _connectionFailure = e.FailureType == ConnectionFailureType.AuthenticationFailure
            ? AuthenticationProblem
            : e.Exception is { } failure ? DescribeFailure(failure, null) : null;
        _redis.ConnectionRestored += (_, _) => _connectionFailure = null;
        _database = _redis.GetDatabase();
        _subscriber = _redis.GetSubscriber();
        Log.Starting(_logger, _nodeId);
        await BeatAsync().ConfigureAwait(false);
        _loop = RunAsync(_stopping.Token);
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // The relay's drain (RelayLifetime) runs in StopAsync; this node leaves the fleet only after it (StoppedAsync).
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        await StopLoopAsync().ConfigureAwait(false);
        if (_database is not { } database)
        {
            return;
        }

        try
        {
            await database.EvaluateAsync(RedisScripts.Leave, [LeaseKey(_nodeId)], [_prefix, _incarnation]).ConfigureAwait(false);
            await PruneAsync(keepLive: false).ConfigureAwait(false);
            Log.Left(_logger, _nodeId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.LeaveFailed(_logger, ex.Message); // The others sweep it after node_timeout.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        if (_commands is not null)
        {
            await _commands.DisposeAsync().ConfigureAwait(false);
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async Task StopLoopAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Checks the lease four times per heartbeat and sends a renewal once per heartbeat (at the next check when a script
    /// found no lease of this node in Redis), whether or not the last one has been answered: a round trip that hangs (a
    /// loaded host, Redis frozen for a moment) neither holds up the check that gives the clients up in time nor the
    /// renewals after it, which Redis answers in order once it can, each extending the lease from when it was sent.
    /// </summary>
    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval / 4, _timeProvider);
        var beats = new List<Task>();
        var lastBeat = _timeProvider.GetTimestamp();
        var maxInFlight = Math.Max(1, (int)(_options.NodeTimeout / _options.HeartbeatInterval));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                CheckLease();
                beats.RemoveAll(static beat => beat.IsCompleted);
                if (beats.Count < maxInFlight
                    && (_timeProvider.GetElapsedTime(lastBeat) >= _options.HeartbeatInterval || Interlocked.Exchange(ref _beatSoon, false)))
                {
                    lastBeat = _timeProvider.GetTimestamp();
                    beats.Add(BeatAsync());
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(beats).ConfigureAwait(false);
    }

    /// <summary>Renews the lease; then, unless another heartbeat is at it, the upkeep (re-claims, sweeps).</summary>
    private async Task BeatAsync()
    {
        var started = _timeProvider.GetTimestamp();
        try
        {
            var info = await _localNode.GetAsync().ConfigureAwait(false);
            var sent = _timeProvider.GetTimestamp();
            var renewed = (long)await _database!.EvaluateAsync(
                RedisScripts.Heartbeat,
                [LeaseKey(_nodeId)],
                [
                    _prefix, _nodeId, _incarnation, (long)_options.NodeTimeout.TotalMilliseconds,
                    info?.Connections ?? _local.Count, _local.Count, info?.Draining == true ? 1 : 0,
                    _timeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
                ]).ConfigureAwait(false);
            _metrics.RedisRoundTrip(_timeProvider.GetElapsedTime(sent));
            EnsureListening();
            if (renewed == 0)
            {
                _lastBeatOk = false;
                SetProblem($"another process holds the node id {_nodeId}");
                Log.NodeIdTaken(_logger, _nodeId);
                GiveUpClients();
                return;
            }

            // Other nodes count this lease from when Redis set it, which is after `sent`; give up a margin earlier.
            // Renewals may complete out of order with an older one's answer: the lease only ever moves forward.
            var validUntil = sent + (long)((_options.NodeTimeout - _options.HeartbeatInterval).TotalSeconds * _timeProvider.TimestampFrequency);
            for (var current = Volatile.Read(ref _leaseValidUntil); current < validUntil;)
            {
                var seen = Interlocked.CompareExchange(ref _leaseValidUntil, validUntil, current);
                current = seen == current ? validUntil : seen;
            }

            Volatile.Write(ref _lastRenewalSent, sent);
            var wasHeld = _leaseHeld;
            _leaseHeld = true;
            if (renewed == 2 || !wasHeld)
            {
                _needsReconcile = true;
            }

            if (Interlocked.Exchange(ref _upkeepRunning, 1) == 0)
            {
                try
                {
                    await UpkeepAsync().ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref _upkeepRunning, 0);
                }
            }

            _lastBeatOk = true;
            UpdateProblem();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _metrics.RedisError("heartbeat");
            if (Volatile.Read(ref _lastRenewalSent) > started)
            {
                return; // A later renewal got through: this one's failure says nothing about the node now.
            }

            _lastBeatOk = false;
            var problem = DescribeFailure(ex, _connectionFailure);
            var changed = problem != _problem;
            SetProblem(problem);
            if (_leaseHeld || changed)
            {
                // While the lease runs out, every failure; before (a node that never got in), once per kind of failure.
                Log.HeartbeatFailed(_logger, problem, ex.Message);
            }
        }
    }

    /// <summary>Re-claims this node's registrations when needed, and sweeps the registrations of dead nodes.</summary>
    private async Task UpkeepAsync()
    {
        if (_needsReconcile)
        {
            await ReconcileAsync().ConfigureAwait(false);
        }

        var swept = (RedisResult[])(await _database!.EvaluateAsync(RedisScripts.Sweep, [(RedisKey)(_prefix + "nodes")], [_prefix, SweepBatch]).ConfigureAwait(false))!;
        _metrics.Nodes((int)swept[0]);
        if ((long)swept[1] > 0)
        {
            _metrics.Swept((long)swept[1]);
            Log.Swept(_logger, (long)swept[1]);
        }
    }

    /// <summary>What a failed Redis command says about the node's standing, for /readyz (no secret in it).</summary>
    /// <param name="exception">The command's failure.</param>
    /// <param name="connectionFailure">
    /// Why the multiplexer's last connection attempt failed (its <c>ConnectionFailed</c> event), or null: a command
    /// sent while no connection is up says only that (e.g. a first heartbeat before the AUTH was refused).
    /// </param>
    internal static string DescribeFailure(Exception exception, string? connectionFailure)
    {
        var message = exception.Message;
        if (message.Contains("WRONGPASS", StringComparison.Ordinal) || message.Contains("NOAUTH", StringComparison.Ordinal))
        {
            return AuthenticationProblem;
        }

        if (connectionFailure is not null && exception is RedisConnectionException { FailureType: ConnectionFailureType.UnableToResolvePhysicalConnection })
        {
            return connectionFailure;
        }

        if (message.Contains("NOPERM", StringComparison.Ordinal))
        {
            return "Redis refused a command, key or channel to this node's user: see the ACL in docs/scaling.md";
        }

        if (message.Contains("certificate", StringComparison.OrdinalIgnoreCase))
        {
            return "Redis's TLS certificate was not accepted (ssl and sslHost in cluster.redis, cluster.redis_ca_file)";
        }

        return exception is RedisConnectionException { FailureType: var type and not ConnectionFailureType.None }
            ? $"Redis unreachable: {type}"
            : $"Redis unreachable: {exception.GetType().Name}";
    }

    /// <summary>
    /// Opens the node's own connections once Redis has answered (then the multiplexer knows whether it is a Redis
    /// Cluster: sharded pub/sub there): its channel, whose listener hands each message to <see cref="OnEnvelope"/> on
    /// its thread, one at a time, in order; and the connection for the hot commands (forward, register, release,
    /// publishes). Both go to the server that holds the fleet's slot (every key and channel carries the
    /// <c>{prefix}</c> hash tag).
    /// </summary>
    private void EnsureListening()
    {
        if (_listener is not null)
        {
            return;
        }

        _sharded = _redis!.GetServers().Any(server => server.ServerType == ServerType.Cluster);
        _publishCommand = _sharded ? "SPUBLISH" : "PUBLISH";
        var redis = _redis;
        var sharded = _sharded;
        var slotKey = _prefix + "ch:" + _nodeId;
        EndPoint? ServerOf() => RedisLink.ServerOf(redis, slotKey, sharded);
        var configuration = _configuration!;
        var timeout = CommandTimeout;
        _forward = new ForwardContext(
            Encoding.UTF8.GetBytes(_prefix), _nodeBytes, Encoding.ASCII.GetBytes(_publishCommand), _metrics,
            (source, peer, why) => Log.ForwardFailed(_logger, source, peer, why));
        _commands = new NodeCommandConnection(ServerOf, configuration, timeout, OnSubscribed, _logger);
        _commands.Start();
        _listener = new NodeChannelListener(ServerOf, configuration, timeout, slotKey, _sharded, OnEnvelope, OnChannelSubscribed, _logger);
        _listener.Start();
    }

    /// <summary>
    /// The channel's subscription is (again) confirmed, or the command connection (again) open: a full member once the
    /// lease is renewed too.
    /// </summary>
    private void OnSubscribed()
    {
        if (_lastBeatOk && _leaseHeld)
        {
            UpdateProblem();
        }
    }

    /// <summary>
    /// The channel's subscription is confirmed. After the first time, requests sent while it was being made again went to
    /// no one (a take-over on another node may have gone ahead without this node closing its socket): the next
    /// heartbeat claims this node's registrations again, and closes with 4004 any socket another node now holds.
    /// </summary>
    private void OnChannelSubscribed()
    {
        if (Interlocked.Increment(ref _channelSubscriptions) > 1)
        {
            _needsReconcile = true;
        }

        OnSubscribed();
    }

    private void UpdateProblem() => SetProblem(
        _listener is not { Subscribed: true } ? "not subscribed to this node's channel"
        : _commands is not { IsConnected: true } ? "the node's Redis command connection is not open"
        : null);

    /// <summary>Gives the clients up once the lease may have run out in Redis: they reconnect and register elsewhere.</summary>
    private void CheckLease()
    {
        if (_leaseHeld && _timeProvider.GetTimestamp() >= Volatile.Read(ref _leaseValidUntil))
        {
            Log.LeaseExpired(_logger, _nodeId, _local.Count);
            GiveUpClients();
        }
    }

    private void GiveUpClients()
    {
        _leaseHeld = false;
        _needsReconcile = true;
        _metrics.LeaseLost();
        SetProblem("this node's lease in Redis ran out");
        foreach (var client in _local.SnapshotClients())
        {
            _ = client.CloseAsync(RelayCloseCodes.TryAgainLater, LeaseLostReason);
        }
    }

    /// <summary>
    /// After Redis came back (or lost its data): claims again every UUID this node's sockets hold (a live holder
    /// elsewhere wins: this node's socket is closed with 4004), then removes this node's entries no socket holds.
    /// </summary>
    private async Task ReconcileAsync()
    {
        _needsReconcile = false;
        var clients = _local.SnapshotClients();
        for (var start = 0; start < clients.Count; start += ReconcileBatch)
        {
            var batch = new List<Task>(ReconcileBatch);
            for (var i = start; i < Math.Min(start + ReconcileBatch, clients.Count); i++)
            {
                batch.Add(ReclaimAsync(clients[i]));
            }

            await Task.WhenAll(batch).ConfigureAwait(false);
        }

        await PruneAsync(keepLive: true).ConfigureAwait(false);
        if (clients.Count > 0)
        {
            Log.Reconciled(_logger, clients.Count);
        }
    }

    private async Task ReclaimAsync(IRelayClient client)
    {
        if (client.Registration is not { } registration)
        {
            return;
        }

        var reply = (RedisResult[])(await _database!.EvaluateAsync(
            RedisScripts.Register,
            [ClientKey(registration.Uuid)],
            [_prefix, registration.Uuid.ToString(), registration.User.Id, _nodeId, _incarnation, client.Id, 0, string.Empty, "reclaim"]).ConfigureAwait(false))!;
        switch ((string?)reply[0])
        {
            case "conflict" or "foreign":
                Log.ReclaimConflict(_logger, registration.Uuid, client.Id);
                _ = client.CloseAsync(RelayCloseCodes.DuplicateRegistration, RelayCloseCodes.DuplicateRegistrationReason);
                break;
            case "lease":
                _needsReconcile = true;
                break;
        }
    }

    /// <summary>Removes this node's entries that no socket of this incarnation holds (all of them when leaving).</summary>
    private async Task PruneAsync(bool keepLive)
    {
        var database = _database!;
        var batch = new List<Task>(ReconcileBatch);
        await foreach (var member in database.SetScanAsync(_prefix + "nc:" + _nodeId, pageSize: ReconcileBatch).ConfigureAwait(false))
        {
            var uuid = (string)member!;
            var live = keepLive && Guid.TryParse(uuid, out var parsed) && _local.Find(parsed) is { } client
                ? client.Id.ToString(CultureInfo.InvariantCulture)
                : string.Empty;
            batch.Add(database.EvaluateAsync(RedisScripts.Release, [_prefix + "c:" + uuid], [_prefix, uuid, _nodeId, _incarnation, live, "prune"]));
            if (batch.Count == ReconcileBatch)
            {
                await Task.WhenAll(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }

        await Task.WhenAll(batch).ConfigureAwait(false);
    }

    private void SetProblem(string? problem)
    {
        if (problem != _problem)
        {
            _problem = problem;
            if (problem is null)
            {
                Log.Healthy(_logger, _nodeId);
            }
        }
    }

    /// <summary>Reads the nodes with a live lease and what each last reported, for the admin API.</summary>
    /// <returns>Each node's id, connections, clients, draining and when it last reported.</returns>
    public async Task<List<(string Node, int Connections, int Clients, bool Draining, DateTimeOffset Seen)>> ReadNodesAsync()
    {
        var list = new List<(string, int, int, bool, DateTimeOffset)>();
        if (_database is not { } database)
        {
            return list;
        }

        var flat = (RedisResult[])(await database.EvaluateAsync(RedisScripts.Nodes, [(RedisKey)(_prefix + "nodes")], [_prefix]).ConfigureAwait(false))!;
        for (var i = 0; i + 4 < flat.Length; i += 5)
        {
            list.Add(((string)flat[i]!, (int)flat[i + 1], (int)flat[i + 2], (int)flat[i + 3] != 0, DateTimeOffset.FromUnixTimeMilliseconds((long)flat[i + 4])));
        }

        return list;
    }

    private RedisKey LeaseKey(string node) => _prefix + "n:" + node;
}
