using System.Globalization;

namespace PeerRelay.Testing;

/// <summary>
/// A real Redis Cluster for tests: several <c>redis-server</c> masters (<c>--cluster-enabled yes</c>, no replicas) on
/// free ports of 127.0.0.1, their hash slots assigned by <c>redis-cli --cluster create</c>. Disposing kills them all.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<RedisServer> _masters = [];

    private RedisCluster()
    {
    }

    /// <summary>Gets the masters.</summary>
    public IReadOnlyList<RedisServer> Masters => _masters;

    /// <summary>Gets the StackExchange.Redis configuration string naming every master.</summary>
    public string Configuration => string.Join(',', _masters.Select(m => m.Configuration));

    /// <summary>Starts <paramref name="masters"/> masters, creates the cluster and waits until every master says it is ok.</summary>
    /// <param name="masters">How many masters (at least 3, as <c>redis-cli --cluster create</c> requires).</param>
    /// <returns>The running cluster.</returns>
    public static async Task<RedisCluster> StartAsync(int masters = 3)
    {
        var cluster = new RedisCluster();
        try
        {
            for (var i = 0; i < masters; i++)
            {
                var configFile = cluster._directory.File($"nodes-{i}.conf");
                // The cluster bus port from FreePort too: Redis's default (the port + 10000) may be another test's port,
                // or an outgoing connection's (seen: a master exiting at start, its bus port taken).
                var busPort = FreePort.Next().ToString(CultureInfo.InvariantCulture);
                cluster._masters.Add(await RedisServer.StartAsync(
                    "--cluster-enabled", "yes", "--cluster-config-file", configFile, "--cluster-node-timeout", "5000",
                    "--cluster-port", busPort, "--dir", cluster._directory.Path));
            }

            var endpoints = cluster._masters.Select(m => m.Configuration).ToArray();
            await cluster._masters[0].CliAsync(["--cluster", "create", .. endpoints, "--cluster-replicas", "0", "--cluster-yes"]);
            foreach (var master in cluster._masters)
            {
                await TaskTimeoutExtensions.WaitUntilAsync(async () =>
                {
                    var info = await master.CliAsync("CLUSTER", "INFO");
                    return info.Contains("cluster_state:ok", StringComparison.Ordinal)
                        && info.Contains("cluster_slots_ok:16384", StringComparison.Ordinal)
                        && info.Contains(string.Create(CultureInfo.InvariantCulture, $"cluster_known_nodes:{masters}"), StringComparison.Ordinal);
                });
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs one command on every master and returns their outputs, in order.</summary>
    /// <param name="arguments">The command and its arguments.</param>
    /// <returns>Each master's output, trimmed.</returns>
    public async Task<string[]> CliOnEachAsync(params string[] arguments) =>
        await Task.WhenAll(_masters.Select(m => m.CliAsync(arguments)));

    /// <summary>Runs one command with <c>redis-cli -c</c> (following redirections to the slot's master).</summary>
    /// <param name="arguments">The command and its arguments.</param>
    /// <returns>The output, trimmed.</returns>
    public Task<string> CliAsync(params string[] arguments) => _masters[0].CliAsync(["-c", .. arguments]);

    /// <summary>Kills every master.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var master in _masters)
        {
            await master.DisposeAsync();
        }

        _directory.Dispose();
    }
}
