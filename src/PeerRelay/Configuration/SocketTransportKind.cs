namespace PeerRelay.Configuration;

/// <summary>How TCP connections are accepted, read and written (<c>socket_transport</c>).</summary>
internal enum SocketTransportKind
{
    /// <summary><c>"relay"</c>: PeerRelay's transport over .NET sockets (the default on platforms other than Linux).</summary>
    Relay,

    /// <summary><c>"kestrel"</c>: Kestrel's socket transport.</summary>
    Kestrel,

    /// <summary><c>"epoll"</c>: PeerRelay's transport on event loops of its own (Linux only, and the default there).</summary>
    Epoll,
}
