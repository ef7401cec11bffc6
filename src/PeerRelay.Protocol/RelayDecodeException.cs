namespace PeerRelay.Protocol;

/// <summary>
/// Thrown by <see cref="RelayCodec.Decode(ReadOnlySpan{byte})"/> when the input breaks a decoding rule of the
/// protocol. The relay answers such a message with close code <see cref="RelayCloseCodes.UnknownMessage"/>.
/// </summary>
public sealed class RelayDecodeException : Exception
{
    /// <summary>Initializes the exception with the rule that was broken.</summary>
    /// <param name="message">Which rule the input broke.</param>
    public RelayDecodeException(string message)
        : base(message)
    {
    }
}
