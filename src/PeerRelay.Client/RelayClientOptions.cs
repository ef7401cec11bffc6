using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;

namespace PeerRelay.Client;

/// <summary>
/// Settings of a <see cref="RelayClient"/>. Read once, when the client is created; later changes have no effect.
/// Only <see cref="Address"/> is required.
/// </summary>
public sealed class RelayClientOptions
{
    /// <summary>
    /// Gets or sets the relay's address, e.g. <c>wss://relay.example.org/</c>. Required. Must be an absolute
    /// <c>ws://</c> or <c>wss://</c> URI; anything else is refused with an <see cref="ArgumentException"/>.
    /// </summary>
    public Uri? Address { get; set; }

    /// <summary>Gets or sets the name sent in the registration. Default: this machine's host name.</summary>
    public string Name { get; set; } = Dns.GetHostName();

    /// <summary>Gets or sets the UUID this client registers as and other peers address it by. Default: a new random UUID.</summary>
    public Guid Uuid { get; set; } = Guid.NewGuid();

    /// <summary>
    /// Gets extra HTTP headers sent with every opening handshake, e.g. <c>Authorization: Bearer TOKEN</c>. Empty by
    /// default. Entries from <see cref="HeadersProvider"/> override entries here with the same name.
    /// </summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Gets or sets a callback that returns extra handshake headers; called afresh before every connection attempt,
    /// so a token can be refreshed between reconnects. Default <see langword="null"/>. If it throws, the attempt fails
    /// and is retried under the <see cref="RetryPolicy"/>.
    /// </summary>
    public Func<CancellationToken, ValueTask<IReadOnlyDictionary<string, string>>>? HeadersProvider { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether any TLS server certificate is accepted (self-signed, expired, wrong
    /// host). Default <see langword="false"/>. Only for testing: it gives up the protection TLS exists for.
    /// </summary>
    public bool AcceptAnyServerCertificate { get; set; }

    /// <summary>Gets or sets how long opening the WebSocket may take (TCP, TLS, HTTP upgrade). Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how long the client waits for the relay's reply to its registration. Default 10 s.</summary>
    public TimeSpan RegistrationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how often the client pings the relay. Default 20 s (the relay pings every 20 s too).
    /// <see cref="TimeSpan.Zero"/> turns client pings off.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Gets or sets how long the client waits for the answer to a ping before it treats the connection as dead and
    /// reconnects. Default 20 s. <see cref="Timeout.InfiniteTimeSpan"/> waits forever.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Gets or sets how long a graceful close may take before the socket is aborted. Default 2 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets how many received messages may wait unread in <see cref="RelayClient.Messages"/>. Default 1024.
    /// When it is full the client stops reading the socket until the application reads (nothing is dropped); a relay
    /// may then close a client that does not keep up.
    /// </summary>
    public int ReceiveQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// Gets or sets how many sends may wait for a registered connection. Default 1024. When it is full,
    /// <see cref="RelayClient.SendAsync(PeerRelay.Protocol.PeerConnection, CancellationToken)"/> waits for room.
    /// </summary>
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// Gets or sets the largest message, in UTF-8 bytes, the client accepts from the relay. Default 2 MiB (the relay
    /// itself refuses messages over 1 MiB). A larger message closes the connection with 1009 and the client reconnects.
    /// </summary>
    public int MaxReceiveMessageBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// Gets or sets the policy that decides whether and when to reconnect after a failure that may be retried.
    /// Default: a new <see cref="ExponentialBackoffRetryPolicy"/> (1 s doubling to 60 s, with jitter, forever).
    /// </summary>
    public IRelayRetryPolicy RetryPolicy { get; set; } = new ExponentialBackoffRetryPolicy();

    /// <summary>Gets or sets the clock used for retry delays, time-outs and elapsed times. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets where the client logs. Default <see langword="null"/>: no logging. Tokens are never logged.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Gets or sets a callback that adjusts the <see cref="ClientWebSocketOptions"/> of every connection (a proxy,
    /// client certificates, HTTP version). Called after the client has applied its own settings. Default null.
    /// </summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; set; }

    /// <summary>Checks every setting and throws an <see cref="ArgumentException"/> naming the first one that is wrong.</summary>
    /// <exception cref="ArgumentException">A setting is missing or out of range.</exception>
    public void Validate()
    {
        if (Address is null)
        {
            throw new ArgumentException("RelayClientOptions.Address is required: the relay's ws:// or wss:// address.", nameof(Address));
        }

        if (!Address.IsAbsoluteUri || (Address.Scheme != "ws" && Address.Scheme != "wss"))
        {
            throw new ArgumentException(
                $"RelayClientOptions.Address must start with ws:// or wss://, got '{Address.OriginalString}'.", nameof(Address));
        }

        if (string.IsNullOrEmpty(Name))
        {
            throw new ArgumentException("RelayClientOptions.Name must not be empty.", nameof(Name));
        }

        Positive(ConnectTimeout, nameof(ConnectTimeout));
        Positive(RegistrationTimeout, nameof(RegistrationTimeout));
        Positive(CloseTimeout, nameof(CloseTimeout));
        if (KeepAliveInterval < TimeSpan.Zero)
        {
            throw new ArgumentException($"RelayClientOptions.KeepAliveInterval must not be negative, got {KeepAliveInterval}.", nameof(KeepAliveInterval));
        }

        if (KeepAliveTimeout <= TimeSpan.Zero && KeepAliveTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"RelayClientOptions.KeepAliveTimeout must be positive or infinite, got {KeepAliveTimeout}.", nameof(KeepAliveTimeout));
        }

        AtLeastOne(ReceiveQueueCapacity, nameof(ReceiveQueueCapacity));
        AtLeastOne(SendQueueCapacity, nameof(SendQueueCapacity));
        if (MaxReceiveMessageBytes < 1024)
        {
            throw new ArgumentException($"RelayClientOptions.MaxReceiveMessageBytes must be at least 1024, got {MaxReceiveMessageBytes}.", nameof(MaxReceiveMessageBytes));
        }

        if (RetryPolicy is null)
        {
            throw new ArgumentException("RelayClientOptions.RetryPolicy must not be null.", nameof(RetryPolicy));
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("RelayClientOptions.TimeProvider must not be null.", nameof(TimeProvider));
        }
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"RelayClientOptions.{name} must be positive, got {value}.", name);
        }
    }

    private static void AtLeastOne(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentException($"RelayClientOptions.{name} must be at least 1, got {value}.", name);
        }
    }
}
