using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis;

/// <summary>
/// Settings of the Redis scale-out (the <c>[cluster]</c> table of <c>peerrelay</c>; <c>docs/scaling.md</c>): several
/// relay nodes share one registry in Redis and reach each other's clients through one pub/sub channel per node.
/// </summary>
public sealed class RedisScaleOutOptions
{
    /// <summary>The longest node id, in UTF-8 bytes.</summary>
    public const int MaxNodeIdBytes = 200;

    /// <summary>
    /// Gets or sets the StackExchange.Redis configuration string (<c>redis</c>), e.g. <c>"127.0.0.1:6379"</c>,
    /// <c>"redis.internal:6380,ssl=true,password=..."</c> or, for Sentinel,
    /// <c>"sentinel1:26379,sentinel2:26379,serviceName=mymaster"</c>. Required. Holds secrets: never logged.
    /// Unless the string sets <c>asyncTimeout</c>, a Redis command that gets no answer fails after
    /// <see cref="HeartbeatInterval"/>, and not before 2 s.
    /// </summary>
    public string Configuration { get; set; } = string.Empty;

    /// <summary>
    /// Gets or sets this node's id (<c>node_id</c>): its channel and the owner of its registrations. Default: the host
    /// name and a random suffix, so a restarted process is a new node. At most 200 UTF-8 bytes.
    /// </summary>
    public string NodeId { get; set; } = DefaultNodeId();

    /// <summary>Gets or sets how often the node renews its lease in Redis (<c>heartbeat_interval</c>). Default 2 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets how long a node's registrations stay routable after its last renewal (<c>node_timeout</c>): a node
    /// killed without a word is forgotten after this long; a node that cannot reach Redis for this long closes its
    /// sockets (1013) so that its UUIDs can register elsewhere. Default 10 s; at least twice
    /// <see cref="HeartbeatInterval"/>.
    /// </summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets the prefix of every Redis key and channel (<c>key_prefix</c>), so that several fleets can share
    /// one Redis. Default <c>peerrelay</c>. All keys carry it as a hash tag (<c>{peerrelay}:...</c>), so that on a Redis
    /// Cluster the registry's atomic scripts see one hash slot.
    /// </summary>
    public string KeyPrefix { get; set; } = "peerrelay";

    /// <summary>
    /// Gets or sets the certificate (PEM or DER file) of the authority that issued the Redis servers' TLS certificates
    /// (<c>redis_ca_file</c>), for a Redis whose certificate no root of the machine vouches for: a server's certificate
    /// is accepted when it chains to this authority and names the host connected to. It applies to every connection of
    /// the node (commands, its channel, Sentinels). Needs <c>ssl=true</c> in <see cref="Configuration"/>. Default null:
    /// the machine's trusted roots.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>Checks every value; returns one line per problem (empty when valid).</summary>
    /// <returns>The problems, naming the config keys.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        ConfigurationOptions? parsed = null;
        if (string.IsNullOrWhiteSpace(Configuration))
        {
            problems.Add("cluster.redis: required, a StackExchange.Redis configuration string such as \"127.0.0.1:6379\"");
        }
        else
        {
            try
            {
                parsed = ConfigurationOptions.Parse(Configuration);
            }
            catch (ArgumentException ex)
            {
                // Not the message: it may quote a value of the string, which may be the password.
                problems.Add($"cluster.redis: not a StackExchange.Redis configuration string (the option {ex.ParamName ?? "?"} is not understood)");
            }
        }

        if (CaFile is not null)
        {
            if (CaFileProblem(CaFile) is { } problem)
            {
                problems.Add($"cluster.redis_ca_file: \"{CaFile}\" {problem}");
            }
            else if (parsed is { Ssl: false })
            {
                problems.Add("cluster.redis_ca_file: is set but cluster.redis does not ask for TLS; add ssl=true to it");
            }
        }

        if (string.IsNullOrWhiteSpace(NodeId) || Encoding.UTF8.GetByteCount(NodeId) > MaxNodeIdBytes || NodeId.Any(char.IsControl))
        {
            problems.Add($"cluster.node_id: must be 1 to {MaxNodeIdBytes} UTF-8 bytes without control characters");
        }

        if (HeartbeatInterval <= TimeSpan.Zero)
        {
            problems.Add("cluster.heartbeat_interval: must be more than 0 seconds");
        }

        if (NodeTimeout < HeartbeatInterval * 2)
        {
            problems.Add("cluster.node_timeout: must be at least twice cluster.heartbeat_interval");
        }

        if (string.IsNullOrEmpty(KeyPrefix) || KeyPrefix.Contains('{', StringComparison.Ordinal) || KeyPrefix.Contains('}', StringComparison.Ordinal))
        {
            problems.Add("cluster.key_prefix: must be non-empty and contain no braces");
        }

        return problems;
    }

    private static string? CaFileProblem(string path)
    {
        if (!File.Exists(path))
        {
            return "does not exist";
        }

        try
        {
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(path);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "cannot be read: " + ex.Message;
        }
        catch (CryptographicException)
        {
            return "holds no certificate (PEM -----BEGIN CERTIFICATE----- or DER)";
        }
    }

    private static string DefaultNodeId()
    {
        var host = Environment.MachineName;
        return $"{(string.IsNullOrEmpty(host) ? "node" : host)}-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 4))}";
    }
}
