namespace PeerRelay.Protocol;

/// <summary>
/// <c>relay_registration</c>: a client asks the relay to make it reachable as <paramref name="Uuid"/>.
/// </summary>
/// <param name="Name">A human-readable name of the endpoint (ProxyStore uses the host name).</param>
/// <param name="Uuid">The UUID other peers address this endpoint by.</param>
public sealed record RelayRegistration(string Name, Guid Uuid) : RelayMessage
{
    /// <inheritdoc />
    public override RelayMessageType MessageType => RelayMessageType.RelayRegistration;
}
