using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;

namespace PeerRelay.Server.Routing;

/// <summary>What a connection registered as. Immutable, so other threads can read it while routing.</summary>
public sealed class RelayClientRegistration
{
    /// <summary>Initializes a new instance of the <see cref="RelayClientRegistration"/> class.</summary>
    /// <param name="uuid">The registered UUID.</param>
    /// <param name="name">The registered name.</param>
    /// <param name="user">The authenticated user.</param>
    public RelayClientRegistration(Guid uuid, string name, RelayUser user)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(user);
        Uuid = uuid;
        Name = name;
        User = user;
        EscapedName = RelayCodec.EscapeString(name);
    }

    /// <summary>Gets the registered UUID.</summary>
    public Guid Uuid { get; }

    /// <summary>Gets the registered name.</summary>
    public string Name { get; }

    /// <summary>Gets the authenticated user.</summary>
    public RelayUser User { get; }

    /// <summary>Gets the name as escaped JSON string content, written into every forwarded message.</summary>
    internal byte[] EscapedName { get; }
}
