namespace PeerRelay.Server.Internal;

/// <summary>What <see cref="ConnectionLimiter.TryAdmit"/> decided about a new connection.</summary>
internal enum ConnectionAdmission
{
    /// <summary>Admitted; release it with <see cref="ConnectionLimiter.Release"/> when the connection ends.</summary>
    Admitted,

    /// <summary>Refused: the relay holds <see cref="RelayServerOptions.MaxConnections"/> connections (closed with 1013).</summary>
    TooManyConnections,

    /// <summary>Refused: the address holds <see cref="RelayServerOptions.MaxConnectionsPerIp"/> connections (closed with 1013).</summary>
    TooManyFromAddress,
}
