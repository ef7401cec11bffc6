using System.Globalization;

namespace PeerRelay.Testing;

/// <summary>
/// A fleet for tests: one real <c>redis-server</c> and several real <c>peerrelay serve</c> processes sharing it through
/// a <c>[cluster]</c> table, each on its own free port. Disposing kills every process it started.
/// </summary>
public sealed class RelayFleet : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<RelayProcess> _nodes = [];
    private readonly Dictionary<RelayProcess, string> _ids = [];
    private readonly RedisServer? _redis;

    private RelayFleet(RedisServer? redis, string redisConfiguration, string extraToml, string clusterToml)
    {
        _redis = redis;
        RedisConfiguration = redisConfiguration;
        ExtraToml = extraToml;
        ClusterToml = clusterToml;
    }

    /// <summary>Gets the Redis the nodes share (started and owned by this fleet; not for a fleet on a Redis of the test's own).</summary>
    public RedisServer Redis => _redis ?? throw new InvalidOperationException("This fleet runs on a Redis of the test's own.");

    /// <summary>Gets the StackExchange.Redis configuration string the nodes get.</summary>
    public string RedisConfiguration { get; }

    /// <summary>Gets the nodes started so far, in order (node-1, node-2, ...); killed ones stay listed.</summary>
    public IReadOnlyList<RelayProcess> Nodes => _nodes;

    /// <summary>Gets the top-level TOML every node gets.</summary>
    public string ExtraToml { get; }

    /// <summary>Gets the extra <c>[cluster]</c> keys every node gets.</summary>
    public string ClusterToml { get; }

    /// <summary>
    /// Starts Redis and <paramref name="nodes"/> nodes. The defaults suit a busy test machine: heartbeat 0.5 s,
    /// node_timeout 8 s, close_timeout 2 s.
    /// </summary>
    /// <remarks>
    /// node_timeout 8 s, not less: on this 2-core machine at a load average of 30–40 (the suite beside builds and
    /// benchmarks), Redis and the nodes were seen answering nothing for 2–3 s at a time; with 4 s (a lease window of
    /// 3.5 s) a node now and then gave up its clients with 1013 in the middle of a test, and another user could take a
    /// UUID whose node had not yet noticed. A lease shorter than the host's stalls is a misconfiguration, in tests as
    /// in production (docs/scaling.md).
    /// </remarks>
    /// <param name="nodes">How many nodes.</param>
    /// <param name="extraToml">Top-level TOML lines for every node (e.g. limits, <c>[auth]</c> goes last).</param>
    /// <param name="clusterToml">Extra <c>[cluster]</c> keys, replacing the defaults named the same.</param>
    /// <returns>The running fleet.</returns>
    public static async Task<RelayFleet> StartAsync(int nodes = 3, string extraToml = "", string clusterToml = "")
    {
        var redis = await RedisServer.StartAsync();
        return await StartNodesAsync(new RelayFleet(redis, redis.Configuration, extraToml, clusterToml), nodes);
    }

    /// <summary>Starts <paramref name="nodes"/> nodes on a Redis Cluster the caller owns (and disposes).</summary>
    /// <param name="cluster">The Redis Cluster.</param>
    /// <param name="nodes">How many nodes.</param>
    /// <param name="clusterToml">Extra <c>[cluster]</c> keys, replacing the defaults named the same.</param>
    /// <returns>The running fleet.</returns>
    public static Task<RelayFleet> StartOnClusterAsync(RedisCluster cluster, int nodes = 3, string clusterToml = "")
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return StartOnRedisAsync(cluster.Configuration, nodes, clusterToml: clusterToml);
    }

    /// <summary>
    /// Starts <paramref name="nodes"/> nodes on a Redis the caller owns (and disposes), reached with
    /// <paramref name="redisConfiguration"/>: a password, TLS, a Sentinel set.
    /// </summary>
    /// <param name="redisConfiguration">The nodes' <c>redis</c> key: a StackExchange.Redis configuration string.</param>
    /// <param name="nodes">How many nodes.</param>
    /// <param name="extraToml">Top-level TOML lines for every node.</param>
    /// <param name="clusterToml">Extra <c>[cluster]</c> keys, replacing the defaults named the same.</param>
    /// <returns>The running fleet.</returns>
    public static Task<RelayFleet> StartOnRedisAsync(string redisConfiguration, int nodes = 3, string extraToml = "", string clusterToml = "") =>
        StartNodesAsync(new RelayFleet(null, redisConfiguration, extraToml, clusterToml), nodes);

    private static async Task<RelayFleet> StartNodesAsync(RelayFleet fleet, int nodes)
    {
        try
        {
            await Task.WhenAll(Enumerable.Range(1, nodes).Select(i => fleet.StartNodeAsync($"node-{i}")));
            fleet._nodes.Sort((a, b) => string.CompareOrdinal(fleet.NodeIdOf(a), fleet.NodeIdOf(b)));
            return fleet;
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
    }

    /// <summary>Gets the node id a node was started with.</summary>
    /// <param name="node">A node of this fleet.</param>
    /// <returns>Its id.</returns>
    public string NodeIdOf(RelayProcess node) => _ids[node];

    /// <summary>Starts one more node with the fleet's configuration.</summary>
    /// <param name="nodeId">Its node id.</param>
    /// <param name="port">The port, or 0 for a free one.</param>
    /// <param name="clusterToml">This node's own <c>[cluster]</c> keys, replacing the fleet's (e.g. a wrong password).</param>
    /// <param name="waitForLease">Whether to wait until it holds its lease (else only until it listens).</param>
    /// <returns>The node, listening.</returns>
    public async Task<RelayProcess> StartNodeAsync(string nodeId, int port = 0, string clusterToml = "", bool waitForLease = true)
    {
        var cluster = new Dictionary<string, string>
        {
            ["redis"] = $"\"{RedisConfiguration}\"",
            ["node_id"] = $"\"{nodeId}\"",
            ["heartbeat_interval"] = "0.5",
            ["node_timeout"] = "8",
        };
        foreach (var line in (ClusterToml + "\n" + clusterToml).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            cluster[line[..equals].Trim()] = line[(equals + 1)..].Trim();
        }

        var (topLevel, tables) = SplitTables(ExtraToml);
        var toml = $"""
            close_timeout = 2
            current_client_interval = 0
            {topLevel}

            [cluster]
            {string.Join('\n', cluster.Select(pair => $"{pair.Key} = {pair.Value}"))}

            {tables}
            """;
        var file = _directory.WriteFile($"{nodeId}-{Guid.NewGuid():N}.toml", toml);
        var node = await RelayProcess.StartServeAsync(
            ["--config", file, "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture)], freeLoopbackPort: false);
        lock (_nodes)
        {
            _nodes.Add(node);
            _ids[node] = nodeId;
        }

        if (waitForLease)
        {
            await node.WaitForLineAsync(line => line.Contains("holds its lease", StringComparison.Ordinal));
        }

        return node;
    }

    /// <summary>Kills every node, then the Redis this fleet started.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _directory.Dispose();
    }

    /// <summary>Splits TOML into its top-level keys and its tables (which must come after [cluster]).</summary>
    private static (string TopLevel, string Tables) SplitTables(string toml)
    {
        var index = toml.IndexOf("\n[", StringComparison.Ordinal);
        if (toml.StartsWith('['))
        {
            return (string.Empty, toml);
        }

        return index < 0 ? (toml, string.Empty) : (toml[..index], toml[(index + 1)..]);
    }
}
