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
    /// Gets or sets how long a client's sending may stay stuck (<c>slow_reader_timeout</c>): when the kernel has taken
    /// nothing more for it this long (it does not read), it is closed with 1008 and its UUID released, whatever its
    /// senders do; they are told as when its queue fills. Default 5 s; zero disables the check (the queue bound stays).
    /// </summary>
    public TimeSpan SlowReaderTimeout { get; set; } = TimeSpan.FromSeconds(5);

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

    /// <summary>
    /// Gets or sets the most WebSocket connections the relay holds at once (<c>max_connections</c>). A new connection
    /// over it is refused before the upgrade with HTTP 503. Default 10,000.
    /// </summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets the most WebSocket connections one client address holds at once (<c>max_connections_per_ip</c>;
    /// IPv6 addresses count per /64 prefix). A new connection over it is refused before the upgrade with HTTP 429.
    /// Default 256.
    /// </summary>
    public int MaxConnectionsPerIp { get; set; } = 256;

    /// <summary>
    /// Gets or sets the new connections per second one client address may open on average (<c>new_connection_rate</c>),
    /// the refill rate of its token bucket (IPv6: per /64; <c>X-Forwarded-For</c> from <see cref="TrustedProxies"/>
    /// names the address). A connection over it is accepted and closed at once with 1013. Default 50; zero disables it.
    /// </summary>
    public double NewConnectionRate { get; set; } = 50;

    /// <summary>
    /// Gets or sets how many new connections one client address may open at once above
    /// <see cref="NewConnectionRate"/> (<c>new_connection_burst</c>): a large site behind one NAT address reconnecting
    /// after a restart. Default 500.
    /// </summary>
    public int NewConnectionBurst { get; set; } = 500;

    /// <summary>
    /// Gets or sets how long a client address is refused new connections (1013) after one of its connections was
    /// closed for abuse with 1008 (<c>abuse_penalty</c>): flooding, not reading, not registering. Default 5 s; zero
    /// disables it.
    /// </summary>
    public TimeSpan AbusePenalty { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets the proxies whose <c>X-Forwarded-For</c> header names the client address (<c>trusted_proxies</c>): IP
    /// addresses or CIDR networks such as <c>10.0.0.0/8</c>. From any other peer the header is ignored. Default empty:
    /// the TCP peer is the client.
    /// </summary>
    public IList<string> TrustedProxies { get; } = [];

    /// <summary>
    /// Gets or sets the most clients (UUIDs) one authenticated user may have registered at once
    /// (<c>max_clients_per_user</c>). A registration over it gets a <c>relay_response</c> with <c>success: false</c>
    /// and the socket is closed with 1008. Not applied when authentication is off (every client is then the same
    /// user and <see cref="MaxConnections"/> bounds them). Default 1,000.
    /// </summary>
    public int MaxClientsPerUser { get; set; } = 1_000;

    /// <summary>
    /// Gets or sets how long a connection may stay open without registering (<c>registration_timeout</c>) before it
    /// is closed with 1008. Default 30 s; zero disables the deadline.
    /// </summary>
    public TimeSpan RegistrationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long a client may take to send the HTTP headers of the opening handshake
    /// (<c>handshake_timeout</c>); Kestrel's <c>RequestHeadersTimeout</c>. A slower client's TCP connection is
    /// closed. Default 10 s.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets the messages per second one connection may send on average (<c>message_rate</c>), the refill rate of
    /// its token bucket. Over the rate the relay reads that connection's messages only at the rate (it stops reading
    /// until the bucket refills, so TCP flow control slows the sender); nothing is refused or lost. Default 200; zero
    /// disables the rate limit.
    /// </summary>
    public double MessageRate { get; set; } = 200;

    /// <summary>
    /// Gets or sets how many messages one connection may send at once above <see cref="MessageRate"/>
    /// (<c>message_burst</c>), the size of its token bucket. Default 1,000.
    /// </summary>
    public int MessageBurst { get; set; } = 1000;

    /// <summary>
    /// Gets or sets how long a connection may stay over <see cref="MessageRate"/> without a break (every message
    /// read had to wait for a token) before it is closed with 1008 (<c>message_rate_sustained</c>). Default 10 s.
    /// </summary>
    public TimeSpan MessageRateSustained { get; set; } = TimeSpan.FromSeconds(10);

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

        if (!(NewConnectionRate >= 0) || double.IsInfinity(NewConnectionRate))
        {
            problems.Add($"new_connection_rate: {NewConnectionRate} is not allowed; use zero or more connections per second");
        }

        if (NewConnectionBurst < 1)
        {
            problems.Add($"new_connection_burst: {NewConnectionBurst} is not allowed; use 1 or more connections");
        }

        if (AbusePenalty < TimeSpan.Zero)
        {
            problems.Add($"abuse_penalty: {AbusePenalty.TotalSeconds} is not allowed; use zero or more seconds");
        }

        if (SlowReaderTimeout < TimeSpan.Zero)
        {
            problems.Add($"slow_reader_timeout: {SlowReaderTimeout.TotalSeconds} is not allowed; use zero or more seconds");
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

        ValidateLimits(problems);

        return problems;
    }

    private void ValidateLimits(List<string> problems)
    {
        if (MaxConnections < 1)
        {
            problems.Add($"max_connections: {MaxConnections} is not allowed; use 1 or more connections");
        }

        if (MaxConnectionsPerIp < 1)
        {
            problems.Add($"max_connections_per_ip: {MaxConnectionsPerIp} is not allowed; use 1 or more connections");
        }

        foreach (var proxy in TrustedProxies)
        {
            if (!Internal.ClientAddressResolver.TryParseNetwork(proxy, out _))
            {
                problems.Add($"trusted_proxies: '{proxy}' is not an IP address or CIDR network (e.g. 10.0.0.1 or 10.0.0.0/8)");
            }
        }

        if (MaxClientsPerUser < 1)
        {
            problems.Add($"max_clients_per_user: {MaxClientsPerUser} is not allowed; use 1 or more clients");
        }

        if (RegistrationTimeout < TimeSpan.Zero)
        {
            problems.Add($"registration_timeout: {RegistrationTimeout.TotalSeconds} is not allowed; use zero (off) or more seconds");
        }

        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            problems.Add($"handshake_timeout: {HandshakeTimeout.TotalSeconds} is not allowed; use more than zero seconds");
        }

        if (!double.IsFinite(MessageRate) || MessageRate < 0)
        {
            problems.Add($"message_rate: {MessageRate} is not allowed; use zero (off) or more messages per second");
        }

        if (MessageBurst < 1)
        {
            problems.Add($"message_burst: {MessageBurst} is not allowed; use 1 or more messages");
        }

        if (MessageRateSustained <= TimeSpan.Zero)
        {
            problems.Add($"message_rate_sustained: {MessageRateSustained.TotalSeconds} is not allowed; use more than zero seconds");
        }
    }
}
