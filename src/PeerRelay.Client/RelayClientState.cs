namespace PeerRelay.Client;

/// <summary>Where a <see cref="RelayClient"/> is in its life. Reported by <see cref="RelayClient.StateChanged"/>.</summary>
public enum RelayClientState
{
    /// <summary>Created; <see cref="RelayClient.ConnectAsync"/> has not been called yet.</summary>
    Created,

    /// <summary>Opening the WebSocket (TCP, TLS and the HTTP upgrade).</summary>
    Connecting,

    /// <summary>The WebSocket is open; the registration was sent and the client waits for the relay's reply.</summary>
    Registering,

    /// <summary>Registered: the relay delivers messages to this client and sends go out.</summary>
    Registered,

    /// <summary>
    /// An attempt failed or the connection was lost; the client waits <see cref="RelayClientStateChangedEventArgs.RetryDelay"/>
    /// before it connects again. <see cref="RelayClientStateChangedEventArgs.Error"/> says why.
    /// </summary>
    Reconnecting,

    /// <summary>
    /// Final: the client was disposed (no error), was rejected (<see cref="RelayRejectedException"/>), or its retry
    /// policy gave up (<see cref="RelayConnectionException"/>).
    /// </summary>
    Closed,
}
