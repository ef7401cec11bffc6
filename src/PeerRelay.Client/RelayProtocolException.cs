namespace PeerRelay.Client;

/// <summary>
/// The server broke the relay protocol: it answered the registration with something other than a
/// <c>relay_response</c>, or sent a message the client cannot decode or does not expect. Usually the address does not
/// point at a relay. Retried by the <see cref="IRelayRetryPolicy"/>, like other connection failures.
/// </summary>
public sealed class RelayProtocolException : Exception
{
    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What the server did wrong.</param>
    public RelayProtocolException(string message)
        : base(message)
    {
    }
}
