namespace PeerRelay.Server.Routing;

/// <summary>What <see cref="IRelayRegistry.RegisterAsync"/> did.</summary>
public enum RelayRegistrationStatus
{
    /// <summary>The UUID was free and is now the client's.</summary>
    Registered,

    /// <summary>The client already held the UUID.</summary>
    Repeated,

    /// <summary>The same user held the UUID on another socket; that socket is (being) closed with 4004.</summary>
    TookOver,

    /// <summary>Another user holds the UUID (close 4002).</summary>
    ForeignUuid,

    /// <summary>The user is at <see cref="RelayServerOptions.MaxClientsPerUser"/> (close 1008).</summary>
    TooManyClients,

    /// <summary>The registry cannot decide now (the shared store is unreachable); the client should retry (close 1013).</summary>
    Unavailable,
}
