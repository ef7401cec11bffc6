namespace PeerRelay.Client;

/// <summary>A change of <see cref="RelayClient.State"/>.</summary>
public sealed class RelayClientStateChangedEventArgs : EventArgs
{
    /// <summary>Initializes the event data.</summary>
    /// <param name="state">The new state.</param>
    /// <param name="error">Why the client left its last connection, if it did because of a failure.</param>
    /// <param name="retryDelay">For <see cref="RelayClientState.Reconnecting"/>, how long the client waits.</param>
    /// <param name="retryCount">How many retries this outage has had, including the one about to be waited for.</param>
    public RelayClientStateChangedEventArgs(RelayClientState state, Exception? error, TimeSpan? retryDelay, long retryCount)
    {
        State = state;
        Error = error;
        RetryDelay = retryDelay;
        RetryCount = retryCount;
    }

    /// <summary>Gets the new state.</summary>
    public RelayClientState State { get; }

    /// <summary>
    /// Gets the failure behind a <see cref="RelayClientState.Reconnecting"/> or <see cref="RelayClientState.Closed"/>
    /// state; <see langword="null"/> otherwise and when the client was closed by <see cref="RelayClient.DisposeAsync"/>.
    /// </summary>
    public Exception? Error { get; }

    /// <summary>Gets the delay before the next attempt, for <see cref="RelayClientState.Reconnecting"/>; otherwise null.</summary>
    public TimeSpan? RetryDelay { get; }

    /// <summary>Gets the number of retries in the current outage (1 for the first <see cref="RelayClientState.Reconnecting"/>); 0 when connected.</summary>
    public long RetryCount { get; }
}
