namespace PeerRelay.Configuration;

/// <summary>
/// The configuration (file, command line or a file it names, such as the certificate) cannot be used. Each problem is
/// one line naming the key, the value and what is allowed; <c>peerrelay</c> prints them and exits with code 2.
/// </summary>
internal sealed class RelayConfigException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="RelayConfigException"/> class with one problem.</summary>
    /// <param name="problem">The problem, one line.</param>
    public RelayConfigException(string problem)
        : this([problem], [])
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RelayConfigException"/> class.</summary>
    /// <param name="problems">The problems, one line each.</param>
    /// <param name="warnings">The warnings found before the problems (unknown keys).</param>
    public RelayConfigException(IReadOnlyList<string> problems, IReadOnlyList<string> warnings)
        : base(string.Join(Environment.NewLine, problems))
    {
        Problems = problems;
        Warnings = warnings;
    }

    /// <summary>Gets the problems, one line each.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Gets the warnings found while reading.</summary>
    public IReadOnlyList<string> Warnings { get; }
}
