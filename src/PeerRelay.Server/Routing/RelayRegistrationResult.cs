namespace PeerRelay.Server.Routing;

/// <summary>The outcome of <see cref="IRelayRegistry.RegisterAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Displaced">
/// On a take-over of a socket on this node: that socket, for the caller to close with 4004 before it answers. Null
/// otherwise (a socket on another node has already been closed).
/// </param>
public readonly record struct RelayRegistrationResult(RelayRegistrationStatus Status, IRelayClient? Displaced = null)
{
    /// <summary>Gets a value indicating whether the client now holds the UUID.</summary>
    public bool Succeeded => Status is RelayRegistrationStatus.Registered or RelayRegistrationStatus.Repeated or RelayRegistrationStatus.TookOver;
}
