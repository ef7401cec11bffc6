namespace PeerRelay.Protocol;

/// <summary>
/// A message of the relay protocol. Every message travels as one WebSocket text frame holding one JSON object
/// whose <c>message_type</c> field names the concrete type (see <see cref="RelayMessageType"/>).
/// </summary>
public abstract record RelayMessage
{
    private protected RelayMessage()
    {
    }

    /// <summary>Gets the kind of this message.</summary>
    public abstract RelayMessageType MessageType { get; }
}
