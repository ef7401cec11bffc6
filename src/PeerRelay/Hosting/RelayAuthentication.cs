using PeerRelay.Configuration;
using PeerRelay.Server.Hosting;

namespace PeerRelay.Hosting;

/// <summary>Chooses the authenticator from <c>[auth]</c> <c>method</c>, with <c>[auth.kwargs]</c> as its arguments.</summary>
internal static class RelayAuthentication
{
    /// <summary>What <c>auth.method</c> may be, for error messages.</summary>
    public const string Allowed = "no method (or \"none\") for no authentication";

    /// <summary>Adds the authenticator <paramref name="auth"/> names to the relay.</summary>
    /// <param name="relay">The relay builder.</param>
    /// <param name="auth">The <c>[auth]</c> settings.</param>
    /// <exception cref="RelayConfigException">The method is not supported.</exception>
    public static void Configure(IPeerRelayBuilder relay, RelayAuthConfig auth)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(auth);
        switch (auth.Method?.ToUpperInvariant())
        {
            case null or "NONE":
                // The relay's default: every client is the same user, as the reference without [auth].
                return;
            default:
                throw new RelayConfigException($"auth.method: auth method \"{auth.Method}\" is not supported; use {Allowed}");
        }
    }
}
