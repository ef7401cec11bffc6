namespace PeerRelay.Server.Authentication;

/// <summary>The <c>[auth]</c> section of the configuration is invalid; the message names the key and the fix.</summary>
public sealed class AuthConfigurationException : Exception
{
    /// <summary>Initializes a new instance with the problems found, one per line.</summary>
    /// <param name="message">The problems.</param>
    public AuthConfigurationException(string message)
        : base(message)
    {
    }
}
