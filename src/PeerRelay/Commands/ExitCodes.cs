namespace PeerRelay.Commands;

/// <summary>The process exit codes of <c>peerrelay</c>, documented in <c>docs/configuration.md</c>.</summary>
internal static class ExitCodes
{
    /// <summary>Ran and stopped normally (also after SIGINT/SIGTERM).</summary>
    public const int Success = 0;

    /// <summary>Failed at run time for a reason outside the configuration, e.g. the port is already in use.</summary>
    public const int Failure = 1;

    /// <summary>The command line or the configuration is wrong: unknown option, bad value, unreadable file or certificate.</summary>
    public const int ConfigurationError = 2;
}
