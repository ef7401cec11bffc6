using PeerRelay.Server.Authentication;

namespace PeerRelay.Server.Internal;

/// <summary>What a connection registered as. Immutable, so other threads can read it while routing.</summary>
/// <param name="Uuid">The registered UUID.</param>
/// <param name="Name">The registered name.</param>
/// <param name="EscapedName">The name as escaped JSON string content, written into every forwarded message.</param>
/// <param name="User">The authenticated user.</param>
internal sealed record Registration(Guid Uuid, string Name, byte[] EscapedName, RelayUser User);
