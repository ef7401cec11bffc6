namespace PeerRelay.Client;

/// <summary>What an <see cref="IRelayRetryPolicy"/> knows when it decides on the next delay.</summary>
/// <param name="PreviousRetryCount">
/// How many retries have already been made in this outage: 0 for the first failure after the client started or after
/// it was last registered.
/// </param>
/// <param name="ElapsedTime">
/// Time since the outage began (since the client started, or since the last registered connection was lost), measured
/// with <see cref="RelayClientOptions.TimeProvider"/>.
/// </param>
/// <param name="RetryReason">The failure that ended the last attempt.</param>
public sealed record RelayRetryContext(long PreviousRetryCount, TimeSpan ElapsedTime, Exception RetryReason);
