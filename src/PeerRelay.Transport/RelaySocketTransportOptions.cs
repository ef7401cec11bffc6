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

    /// <summary>Gets or sets a value indicating whether Nagle's algorithm is off (<c>TCP_NODELAY</c>). Default true.</summary>
    public bool NoDelay { get; set; } = true;
}
