namespace PeerRelay.Transport;

/// <summary>Options of the PeerRelay socket transport (<see cref="RelaySocketTransportWebHostBuilderExtensions.UseRelaySockets"/>).</summary>
public sealed class RelaySocketTransportOptions
{
    /// <summary>Gets or sets the listen backlog: connections the kernel holds before they are accepted. Default 512.</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>
    /// Gets or sets the size of a connection's read buffer, rented only while bytes are waiting to be read (an idle
    /// connection holds none). Default 4096; a larger message is read in several pieces.
    /// </summary>
    public int ReadBufferSize { get; set; } = 4096;

    /// <summary>
    /// Gets or sets how long a connection that ends with bytes still unread keeps reading (and discarding) after its
    /// FIN, so that the peer gets what was sent last (e.g. a close frame) instead of a reset. Default 2 seconds;
    /// zero closes at once.
    /// </summary>
    public TimeSpan CloseLingerTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets how many bytes a lingering connection (see <see cref="CloseLingerTimeout"/>) reads and discards at
    /// most; past that it is reset at once, so a peer that floods as it is closed costs a bounded amount of reading.
    /// Default 1,114,112 (1 MiB + 64 KiB): the rest of one message at PeerRelay's default transport limit (1 MiB), so
    /// that a client whose message was too large still reads the close frame; 0 resets whenever bytes are unread.
    /// </summary>
    public int CloseLingerMaxBytes { get; set; } = DefaultCloseLingerMaxBytes;

    /// <summary>The default of <see cref="CloseLingerMaxBytes"/>: 1 MiB + 64 KiB.</summary>
    public const int DefaultCloseLingerMaxBytes = (1 << 20) + (64 << 10);

    /// <summary>Gets or sets a value indicating whether Nagle's algorithm is off (<c>TCP_NODELAY</c>). Default true.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// Gets or sets how many event loops the epoll transport runs (<see cref="RelaySocketTransportWebHostBuilderExtensions.UseRelayEpoll"/>);
    /// 0, the default, means one per processor the process may run on (<see cref="Environment.ProcessorCount"/>).
    /// </summary>
    public int EventLoops { get; set; }
}
