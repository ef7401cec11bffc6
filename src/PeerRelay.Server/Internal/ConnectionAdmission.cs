namespace PeerRelay.Server.Internal;

/// <summary>What <see cref="ConnectionLimiter.TryAdmit(System.Net.IPAddress?)"/> decided about a new connection.</summary>
internal enum ConnectionAdmission
{
    /// <summary>Admitted; release it with <see cref="ConnectionLimiter.Release"/> when the connection ends.</summary>
    Admitted,

    /// <summary>Refused: the relay holds <see cref="RelayServerOptions.MaxConnections"/> connections (closed with 1013).</summary>
    TooManyConnections,

    /// <summary>Refused: the address holds <see cref="RelayServerOptions.MaxConnectionsPerIp"/> connections (closed with 1013).</summary>
    TooManyFromAddress,

    /// <summary>Refused: the address opened connections faster than <see cref="RelayServerOptions.NewConnectionRate"/> (closed with 1013).</summary>
    ConnectingTooFast,

    /// <summary>Refused: a connection from the address was closed for abuse (1008) within <see cref="RelayServerOptions.AbusePenalty"/> (closed with 1013).</summary>
    Penalized,
}
