namespace PeerRelay.Check;

/// <summary>
/// Exit codes of <c>peerrelay check</c>, one per cause, so scripts can tell failures apart. Documented in
/// docs/client.md; never renumber.
/// </summary>
internal enum CheckExitCode
{
    /// <summary>The relay is reachable, accepted the registration and returned every message.</summary>
    Ok = 0,

    /// <summary>An unexpected error (a bug).</summary>
    Unexpected = 1,

    /// <summary>
    /// The arguments are invalid (address not ws:// or wss://, count or timeout out of range). The root command also
    /// exits with 2 for arguments it cannot parse.
    /// </summary>
    InvalidArguments = 2,

    /// <summary>Nothing accepts connections at the address (TCP connection refused).</summary>
    ConnectionRefused = 10,

    /// <summary>The host name could not be resolved (DNS).</summary>
    HostNotFound = 11,

    /// <summary>TLS failed: the certificate is not trusted (or the TLS handshake failed).</summary>
    TlsFailed = 12,

    /// <summary>The relay rejected the token: close 4001 (unauthorized) or 4002 (forbidden).</summary>
    TokenRejected = 13,

    /// <summary>The server is not a relay: no WebSocket upgrade, or replies that break the relay protocol.</summary>
    NotARelay = 14,

    /// <summary>A step (connect, registration, a round trip) took longer than the time-out.</summary>
    Timeout = 15,

    /// <summary>The relay closed the connection (another close code, a refused registration) or it was lost.</summary>
    ConnectionLost = 16,

    /// <summary>The relay returned a message with an error instead of delivering it to the checker's own UUID.</summary>
    ForwardingFailed = 17,
}
