namespace PeerRelay.Client;

/// <summary>
/// A connection to the relay failed or ended in a way the client may retry: the relay closed it with a close code
/// other than 4001, 4002 and 4004, or the connection was lost. Also the final error of a
/// client whose <see cref="IRelayRetryPolicy"/> gave up; then <see cref="Exception.InnerException"/> is the last failure.
/// </summary>
public sealed class RelayConnectionException : Exception
{
    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    /// <param name="closeCode">The close code the relay sent, if it sent one.</param>
    /// <param name="closeReason">The close reason the relay sent, if it sent one.</param>
    public RelayConnectionException(string message, Exception? innerException = null, int? closeCode = null, string? closeReason = null)
        : base(message, innerException)
    {
        CloseCode = closeCode;
        CloseReason = closeReason;
    }

    /// <summary>Gets the WebSocket close code the relay sent, or <see langword="null"/> when the connection ended without one.</summary>
    public int? CloseCode { get; }

    /// <summary>Gets the close reason the relay sent, or <see langword="null"/>.</summary>
    public string? CloseReason { get; }
}
