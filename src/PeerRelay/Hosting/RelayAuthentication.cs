using PeerRelay.Configuration;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Hosting;

namespace PeerRelay.Hosting;

/// <summary>Chooses the authenticator from <c>[auth]</c> <c>method</c>, with <c>[auth.kwargs]</c> as its arguments.</summary>
internal static class RelayAuthentication
{
    /// <summary>Adds the authenticator <paramref name="auth"/> names to the relay.</summary>
    /// <param name="relay">The relay builder.</param>
    /// <param name="auth">The <c>[auth]</c> settings.</param>
    /// <param name="environment">
    /// Looks up environment variables (the Globus client id and secret fall back to them); the process environment
    /// when null.
    /// </param>
    /// <exception cref="RelayConfigException">The method or one of its settings is not valid.</exception>
    public static void Configure(IPeerRelayBuilder relay, RelayAuthConfig auth, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(auth);
        try
        {
            AuthConfiguration.Apply(relay, auth.Method, auth.Kwargs, environment ?? Environment.GetEnvironmentVariable);
        }
        catch (AuthConfigurationException ex)
        {
            throw new RelayConfigException(ex.Problems, []);
        }
    }
}
