namespace PeerRelay.Server;

/// <summary>
/// Settings of the relay itself. Bound from the <c>peerrelay</c> TOML file and command line; see
/// <c>docs/configuration.md</c> for the file keys.
/// </summary>
public sealed class RelayServerOptions
{
    /// <summary>The default transport limit: 1 MiB, as the reference's WebSocket library.</summary>
    public const int DefaultTransportMaxMessageBytes = 1 << 20;

    /// <summary>
    /// Gets the origins (<c>scheme://host[:port]</c>) whose browser pages may open a WebSocket to the relay
    /// (<c>allowed_origins</c>). A handshake whose <c>Origin</c> header is not listed is refused with HTTP 403 before
    /// the upgrade; a handshake without an <c>Origin</c> header (not from a browser) is always let through. Empty
    /// (the default) or <c>*</c> allows any origin. Compared case-insensitively; a default port may be left out.
    /// </summary>
    public IList<string> AllowedOrigins { get; } = [];

    /// <summary>
    /// Gets or sets the largest message, in UTF-8 bytes, a client may send before it is closed with 4003
    /// (<c>max_message_bytes</c>). <see langword="null"/> (the default) leaves only <see cref="TransportMaxMessageBytes"/>.
    /// </summary>
    public int? MaxMessageBytes { get; set; }

    /// <summary>
    /// Gets or sets the largest message, in bytes, the transport accepts before closing with 1009
    /// (<c>transport_max_message_bytes</c>). Default 1 MiB (1,048,576).
    /// </summary>
    public int TransportMaxMessageBytes { get; set; } = DefaultTransportMaxMessageBytes;

    /// <summary>Gets or sets how often the server pings each client (<c>ping_interval</c>). Default 20 s; zero disables pings.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Gets or sets how long a client may stay silent after a ping before it is dropped (<c>ping_timeout</c>). Default 20 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Gets or sets how many messages may wait to be sent to one client (<c>send_queue_capacity</c>). When a client's
    /// queue is full it is closed with 1008 and the message is returned to its sender with an error. Default 256.
    /// </summary>
    public int SendQueueCapacity { get; set; } = 256;

    /// <summary>
    /// Gets or sets how long a close handshake may take before the connection is aborted (<c>close_timeout</c>).
    /// Default 5 s.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets the interval of the "Connected clients: N" log line (<c>current_client_interval</c>).
    /// Default 60 s; zero disables the line.
    /// </summary>
    public TimeSpan ConnectedClientLogInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gets or sets the client count below which the "Connected clients" line lists every client
    /// (<c>current_client_limit</c>). Default 32.
    /// </summary>
    public int ConnectedClientLogLimit { get; set; } = 32;

    /// <summary>Checks every value and returns the problems found, as "key: problem" lines.</summary>
    /// <returns>An empty list when the options are valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        problems.AddRange(Internal.OriginPolicy.Validate(AllowedOrigins));
        if (MaxMessageBytes is <= 0)
        {
            problems.Add($"max_message_bytes: {MaxMessageBytes} is not allowed; use a positive number of bytes");
        }

        if (TransportMaxMessageBytes <= 0)
        {
            problems.Add($"transport_max_message_bytes: {TransportMaxMessageBytes} is not allowed; use a positive number of bytes");
        }

        if (KeepAliveInterval < TimeSpan.Zero)
        {
            problems.Add($"ping_interval: {KeepAliveInterval.TotalSeconds} is not allowed; use zero or more seconds");
        }

        if (KeepAliveTimeout <= TimeSpan.Zero)
        {
            problems.Add($"ping_timeout: {KeepAliveTimeout.TotalSeconds} is not allowed; use more than zero seconds");
        }

        if (SendQueueCapacity < 1)
        {
            problems.Add($"send_queue_capacity: {SendQueueCapacity} is not allowed; use 1 or more messages");
        }

        if (CloseTimeout <= TimeSpan.Zero)
        {
            problems.Add($"close_timeout: {CloseTimeout.TotalSeconds} is not allowed; use more than zero seconds");
        }

        if (ConnectedClientLogInterval < TimeSpan.Zero)
        {
            problems.Add($"current_client_interval: {ConnectedClientLogInterval.TotalSeconds} is not allowed; use zero or more seconds");
        }

        if (ConnectedClientLogLimit < 0)
        {
            problems.Add($"current_client_limit: {ConnectedClientLogLimit} is not allowed; use zero or more");
        }

        return problems;
    }
}
