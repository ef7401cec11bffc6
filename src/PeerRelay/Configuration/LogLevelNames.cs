using Microsoft.Extensions.Logging;
using PeerRelay.Server.Internal;

namespace PeerRelay.Configuration;

/// <summary>
/// Log levels by the reference relay's (Python <c>logging</c>) names, in any case, or by Python's level numbers.
/// </summary>
internal static class LogLevelNames
{
    /// <summary>What a level may be, for error messages.</summary>
    public const string Allowed = "DEBUG, INFO, WARNING, ERROR or CRITICAL (any case), or 10, 20, 30, 40, 50";

    /// <summary>Reads a level name (DEBUG, INFO, WARNING or WARN, ERROR, CRITICAL or FATAL), in any case.</summary>
    /// <param name="name">The name.</param>
    /// <param name="level">The level.</param>
    /// <returns>Whether the name is a level.</returns>
    public static bool TryParse(string? name, out LogLevel level) => RelayLogLevelNames.TryParse(name, out level);

    /// <summary>Reads a Python level number: 10, 20, 30, 40 or 50.</summary>
    /// <param name="number">The number.</param>
    /// <param name="level">The level.</param>
    /// <returns>Whether the number is a level.</returns>
    public static bool TryParse(long number, out LogLevel level)
    {
        level = number switch
        {
            10 => LogLevel.Debug,
            20 => LogLevel.Information,
            30 => LogLevel.Warning,
            40 => LogLevel.Error,
            50 => LogLevel.Critical,
            _ => LogLevel.None,
        };
        return level != LogLevel.None;
    }

    /// <summary>Gets the reference's name of <paramref name="level"/>, as written in the log lines.</summary>
    /// <param name="level">The level.</param>
    /// <returns>DEBUG, INFO, WARNING, ERROR or CRITICAL (TRACE for trace).</returns>
    public static string ToName(LogLevel level) => RelayLogLevelNames.ToName(level);
}
