using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;

namespace PeerRelay.Server.Routing;

/// <summary>What a connection registered as. Immutable, so other threads can read it while routing.</summary>
public sealed class RelayClientRegistration
{
    private readonly string? _name;

    /// <summary>Initializes a new instance of the <see cref="RelayClientRegistration"/> class.</summary>
    /// <param name="uuid">The registered UUID.</param>
    /// <param name="name">The registered name.</param>
    /// <param name="user">The authenticated user.</param>
    public RelayClientRegistration(Guid uuid, string name, RelayUser user)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(user);
        Uuid = uuid;
        User = user;
        EscapedName = name.Length == 0 ? [] : RelayCodec.EscapeString(name);

        // The name is kept once, as the escaped bytes every forward writes; the string only when escaping changed it
        // (control characters, quotes, non-ASCII): an idle client does not hold its name twice.
        if (!IsAsciiOf(name, EscapedName))
        {
            _name = name;
        }
    }

    /// <summary>Gets the registered UUID.</summary>
    public Guid Uuid { get; }

    /// <summary>Gets the registered name (made from the escaped bytes when they are the name's ASCII: admin and logs only).</summary>
    public string Name => _name ?? System.Text.Encoding.ASCII.GetString(EscapedName);

    /// <summary>Gets the authenticated user.</summary>
    public RelayUser User { get; }

    /// <summary>Gets the name as escaped JSON string content, written into every forwarded message.</summary>
    internal byte[] EscapedName { get; }

    private static bool IsAsciiOf(string name, byte[] bytes)
    {
        if (name.Length != bytes.Length)
        {
            return false;
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            if (name[i] != bytes[i])
            {
                return false;
            }
        }

        return true;
    }
}
