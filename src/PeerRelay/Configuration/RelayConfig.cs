using PeerRelay.Server;
using PeerRelay.Server.Redis;

namespace PeerRelay.Configuration;

/// <summary>
/// The resolved configuration of <c>peerrelay serve</c>: defaults, then the TOML file, then the command line.
/// Every key is described in <c>docs/configuration.md</c>.
/// </summary>
internal sealed class RelayConfig
{
    /// <summary>The default port, as the reference relay's.</summary>
    public const int DefaultPort = 8700;

    /// <summary>Gets or sets the configuration file the values came from, or null when there was none.</summary>
    public string? SourcePath { get; set; }

    /// <summary>Gets or sets the interface to listen on (<c>host</c>); null (the default) listens on every IPv4 and IPv6 interface.</summary>
    public string? Host { get; set; }

    /// <summary>Gets or sets the TCP port (<c>port</c>). Default 8700; 0 picks a free port.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>Gets or sets the PEM certificate file (<c>certfile</c>); when set the relay serves <c>wss://</c>.</summary>
    public string? CertFile { get; set; }

    /// <summary>Gets or sets the PEM private key file (<c>keyfile</c>); null means the key is in <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>Gets the <c>[auth]</c> table.</summary>
    public RelayAuthConfig Auth { get; } = new();

    /// <summary>
    /// Gets or sets a value indicating whether socket completions, Kestrel's pipes and the relay's work run inline on
    /// the socket event threads (<c>inline_io</c>, default true) rather than hopping to the thread pool per read.
    /// </summary>
    public bool InlineIo { get; set; } = true;

    /// <summary>
    /// Gets or sets how Kestrel accepts TCP connections (<c>socket_transport</c>): the PeerRelay socket transport on
    /// event loops of its own (<c>"epoll"</c>, the default on Linux: relay WebSocket connections served on the loop,
    /// without Kestrel's per-connection dispatch), the same connections over .NET sockets (<c>"relay"</c>, the default
    /// elsewhere: no pipes or buffers per idle connection), or Kestrel's own (<c>"kestrel"</c>).
    /// </summary>
    public SocketTransportKind SocketTransport { get; set; } = DefaultSocketTransport;

    /// <summary>Gets the default <c>socket_transport</c>: <c>"epoll"</c> on Linux, <c>"relay"</c> elsewhere.</summary>
    public static SocketTransportKind DefaultSocketTransport { get; } = OperatingSystem.IsLinux() ? SocketTransportKind.Epoll : SocketTransportKind.Relay;

    /// <summary>Gets or sets the listen backlog: connections the kernel holds before they are accepted (<c>listen_backlog</c>, default 512).</summary>
    public int ListenBacklog { get; set; } = 512;

    /// <summary>Gets or sets a value indicating whether Prometheus metrics are served at <c>/metrics</c> (<c>metrics</c>, default true).</summary>
    public bool Metrics { get; set; } = true;

    /// <summary>
    /// Gets or sets the port that serves <c>/metrics</c> instead of the relay's port (<c>metrics_port</c>), on the relay's
    /// interfaces; null (the default) serves it on the relay's port.
    /// </summary>
    public int? MetricsPort { get; set; }

    /// <summary>
    /// Gets or sets the bearer token of the admin API and dashboard on the relay's port (<c>admin_token</c>); null (the
    /// default) turns them off there. Never logged.
    /// </summary>
    public string? AdminToken { get; set; }

    /// <summary>
    /// Gets or sets a port on loopback (127.0.0.1 and ::1) that serves the admin API and dashboard without a token
    /// (<c>admin_port</c>); null (the default) opens none.
    /// </summary>
    public int? AdminPort { get; set; }

    /// <summary>Gets the <c>[logging]</c> table (levels and log directory).</summary>
    public RelayLoggingConfig Logging { get; } = new();

    /// <summary>
    /// Gets or sets the <c>[cluster]</c> table: the Redis scale-out (docs/scaling.md). Null (no table, the default):
    /// a single node, exactly as without it.
    /// </summary>
    public RedisScaleOutOptions? Cluster { get; set; }

    /// <summary>Gets the relay's own settings (limits, keep-alive, the connected-clients log line).</summary>
    public RelayServerOptions Server { get; } = new();

    /// <summary>Gets the warnings found while reading, e.g. unknown keys; each names the key and the file.</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Gets a value indicating whether the relay serves TLS (<c>wss://</c>).</summary>
    public bool UsesTls => CertFile is not null;
}
