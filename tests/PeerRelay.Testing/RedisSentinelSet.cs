using System.Globalization;

namespace PeerRelay.Testing;

/// <summary>
/// A real Redis Sentinel set for tests: a master, replicas of it and Sentinels (Debian's <c>redis-sentinel</c>)
/// monitoring it as <see cref="ServiceName"/>, every process on a free port of 127.0.0.1. Disposing kills them all.
/// </summary>
public sealed class RedisSentinelSet : IAsyncDisposable
{
    /// <summary>The name the Sentinels monitor the master under (<c>serviceName=</c> of the configuration string).</summary>
    public const string ServiceName = "peerrelay-test";

    private readonly TempDirectory _directory = new();
    private readonly List<RedisServer> _servers = [];
    private readonly List<RedisServer> _sentinels = [];

    private RedisSentinelSet()
    {
    }

    /// <summary>Gets the master and its replicas, the master first (as started; a failover changes which is master).</summary>
    public IReadOnlyList<RedisServer> Servers => _servers;

    /// <summary>Gets the Sentinels.</summary>
    public IReadOnlyList<RedisServer> Sentinels => _sentinels;

    /// <summary>Gets the StackExchange.Redis configuration string: every Sentinel and <c>serviceName</c>.</summary>
    public string Configuration => string.Join(',', _sentinels.Select(s => s.Configuration)) + ",serviceName=" + ServiceName;

    /// <summary>
    /// Starts a master, <paramref name="replicas"/> replicas of it and <paramref name="sentinels"/> Sentinels (quorum 1,
    /// down after 1 s, a failover retried after 8 s), and waits until the replicas are in sync and every Sentinel knows them.
    /// </summary>
    /// <param name="replicas">How many replicas (at least 1, to fail over to).</param>
    /// <param name="sentinels">How many Sentinels.</param>
    /// <returns>The running set.</returns>
    public static async Task<RedisSentinelSet> StartAsync(int replicas = 1, int sentinels = 2)
    {
        var set = new RedisSentinelSet();
        try
        {
            var master = await RedisServer.StartAsync();
            set._servers.Add(master);
            var masterPort = master.Port.ToString(CultureInfo.InvariantCulture);
            for (var i = 0; i < replicas; i++)
            {
                var replica = await RedisServer.StartAsync("--replicaof", "127.0.0.1", masterPort);
                set._servers.Add(replica);
                await TaskTimeoutExtensions.WaitUntilAsync(
                    async () => (await replica.CliAsync("INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal));
            }

            for (var i = 0; i < sentinels; i++)
            {
                var config = set._directory.WriteFile($"sentinel-{i}.conf", $"""
                    sentinel monitor {ServiceName} 127.0.0.1 {masterPort} 1
                    sentinel down-after-milliseconds {ServiceName} 1000
                    sentinel failover-timeout {ServiceName} 4000
                    """);
                var sentinel = await RedisServer.StartAsync(new RedisServerOptions { Sentinel = true, ConfigFile = config, Arguments = ["--dir", set._directory.Path] });
                set._sentinels.Add(sentinel);
            }

            foreach (var sentinel in set._sentinels)
            {
                foreach (var replica in set._servers.Skip(1))
                {
                    var port = replica.Port.ToString(CultureInfo.InvariantCulture);
                    await TaskTimeoutExtensions.WaitUntilAsync(
                        async () => (await sentinel.CliAsync("SENTINEL", "REPLICAS", ServiceName)).Split('\n').Contains(port));
                }

                // Every Sentinel knows the others (they find each other through the master's hello channel, every 2 s),
                // as in a deployment that has run a while: a test that kills the master at once on a fast machine would
                // otherwise have each Sentinel fail over alone, a case no operator runs.
                var others = (sentinels - 1).ToString(CultureInfo.InvariantCulture);
                await TaskTimeoutExtensions.WaitUntilAsync(
                    async () => Field(await sentinel.CliAsync("SENTINEL", "MASTER", ServiceName), "num-other-sentinels") == others,
                    what: "each Sentinel to know the others");
            }

            return set;
        }
        catch
        {
            await set.DisposeAsync();
            throw;
        }
    }

    /// <summary>The value after <paramref name="name"/> in a field list as <c>redis-cli</c> prints it (name and value on alternate lines).</summary>
    private static string? Field(string reply, string name)
    {
        var lines = reply.Split('\n');
        var at = Array.IndexOf(lines, name);
        return at >= 0 && at + 1 < lines.Length ? lines[at + 1].Trim() : null;
    }

    /// <summary>Asks the first Sentinel which server is the master now.</summary>
    /// <returns>The master.</returns>
    public async Task<RedisServer> MasterAsync()
    {
        var address = (await _sentinels[0].CliAsync("SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName)).Split('\n');
        return _servers.Single(s => s.Port.ToString(CultureInfo.InvariantCulture) == address[^1].Trim());
    }

    /// <summary>
    /// Fails the master over and waits until every Sentinel names the new master and the new master says it is one:
    /// by <c>SENTINEL FAILOVER</c>, or by killing the master (SIGKILL), which the Sentinels find down after 1 s. An old
    /// master still running is turned into a replica later, when a Sentinel next looks at it (up to 10 s): a client
    /// must follow the Sentinels, not wait for that.
    /// </summary>
    /// <param name="killMaster">Whether to kill the master instead of asking a Sentinel.</param>
    /// <returns>The old master and the new one.</returns>
    public async Task<(RedisServer Old, RedisServer New)> FailoverAsync(bool killMaster = false)
    {
        var old = await MasterAsync();
        if (killMaster)
        {
            await old.KillAsync();
        }
        else if (await _sentinels[0].CliAsync("SENTINEL", "FAILOVER", ServiceName) is var answer and not "OK")
        {
            throw new InvalidOperationException($"SENTINEL FAILOVER answered {answer}");
        }

        await TaskTimeoutExtensions.WaitUntilAsync(async () => await MasterAsync() != old);
        var promoted = await MasterAsync();
        foreach (var sentinel in _sentinels)
        {
            var port = promoted.Port.ToString(CultureInfo.InvariantCulture);
            await TaskTimeoutExtensions.WaitUntilAsync(
                async () => (await sentinel.CliAsync("SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName)).EndsWith(port, StringComparison.Ordinal));
        }

        await TaskTimeoutExtensions.WaitUntilAsync(async () => (await promoted.CliAsync("ROLE")).StartsWith("master", StringComparison.Ordinal));
        return (old, promoted);
    }

    /// <summary>Kills every Sentinel and server.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var server in _sentinels.Concat(_servers))
        {
            await server.DisposeAsync();
        }

        _directory.Dispose();
    }
}
