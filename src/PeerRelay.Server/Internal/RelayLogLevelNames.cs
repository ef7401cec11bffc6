using Microsoft.Extensions.Logging;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Log levels by the reference relay's (Python <c>logging</c>) names, for the admin API's log level and the
/// <c>peerrelay</c> command's configuration alike.
/// </summary>
internal static class RelayLogLevelNames
{
    /// <summary>Reads a level name (DEBUG, INFO, WARNING or WARN, ERROR, CRITICAL or FATAL), in any case.</summary>
    /// <param name="name">The name.</param>
    /// <param name="level">The level.</param>
    /// <returns>Whether the name is a level.</returns>
    public static bool TryParse(string? name, out LogLevel level)
    {
        level = name?.Trim().ToUpperInvariant() switch
        {
            "DEBUG" => LogLevel.Debug,
            "INFO" => LogLevel.Information,
            "WARNING" or "WARN" => LogLevel.Warning,
            "ERROR" => LogLevel.Error,
            "CRITICAL" or "FATAL" => LogLevel.Critical,
            _ => LogLevel.None,
        };
        return level != LogLevel.None;
    }

    /// <summary>Gets the reference's name of <paramref name="level"/>, as written in the log lines.</summary>
    /// <param name="level">The level.</param>
    /// <returns>DEBUG, INFO, WARNING, ERROR or CRITICAL (TRACE for trace).</returns>
    public static string ToName(LogLevel level) => level switch
    {
        LogLevel.Trace => "TRACE",
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO",
        LogLevel.Warning => "WARNING",
        LogLevel.Error => "ERROR",
        LogLevel.Critical => "CRITICAL",
        _ => "NONE",
    };
}
