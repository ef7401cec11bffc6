namespace PeerRelay.Check;

/// <summary>What <c>peerrelay check</c> was asked to do.</summary>
/// <param name="Address">The relay's address, as typed.</param>
/// <param name="Token">A bearer token for the <c>Authorization</c> header, or null.</param>
/// <param name="Insecure">Whether any TLS certificate is accepted.</param>
/// <param name="Count">How many round trips to time.</param>
/// <param name="Timeout">How long each step may take.</param>
internal sealed record CheckSettings(string Address, string? Token, bool Insecure, int Count, TimeSpan Timeout);
