namespace PeerRelay.Protocol;

/// <summary>
/// <c>peer_connection</c>: a session description sent from one peer to another through the relay.
/// </summary>
/// <param name="SourceUuid">The sender's UUID. The relay overwrites it with the sender's registered UUID.</param>
/// <param name="SourceName">The sender's name. The relay overwrites it with the sender's registered name.</param>
/// <param name="PeerUuid">The UUID of the peer the message is for.</param>
/// <param name="DescriptionType">
/// The kind of description: <c>offer</c> or <c>answer</c> from ProxyStore; browsers may also send e.g. <c>candidate</c>.
/// </param>
/// <param name="Description">The session description itself (often a JSON string holding the SDP).</param>
/// <param name="Error">
/// <see langword="null"/> on a request; set by the relay when it sends the message back because it could not be
/// delivered.
/// </param>
public sealed record PeerConnection(
    Guid SourceUuid,
    string SourceName,
    Guid PeerUuid,
    string DescriptionType,
    string Description,
    string? Error = null) : RelayMessage
{
    /// <inheritdoc />
    public override RelayMessageType MessageType => RelayMessageType.PeerConnection;
}
