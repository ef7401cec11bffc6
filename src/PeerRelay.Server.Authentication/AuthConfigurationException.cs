namespace PeerRelay.Server.Authentication;

/// <summary>The <c>[auth]</c> section of the configuration is invalid; each problem names the key and the fix.</summary>
public sealed class AuthConfigurationException : Exception
{
    /// <summary>Initializes a new instance with the problems found, one line each.</summary>
    /// <param name="problems">The problems.</param>
    public AuthConfigurationException(IReadOnlyList<string> problems)
        : base(string.Join(Environment.NewLine, problems ?? throw new ArgumentNullException(nameof(problems))))
    {
        Problems = problems;
    }

    /// <summary>Gets the problems, one line each (e.g. <c>auth.kwargs.timeout: ...</c>).</summary>
    public IReadOnlyList<string> Problems { get; }
}
