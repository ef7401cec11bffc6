using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using PeerRelay.Configuration;

namespace PeerRelay.Logging;

/// <summary>
/// The one log line format of the console and the files:
/// <c>2026-11-25 21:51:14.123 INFO [Category] message</c>, the exception on the lines below.
/// Level names are the reference relay's (DEBUG, INFO, WARNING, ERROR, CRITICAL); times are UTC.
/// </summary>
internal static class LogLineFormatter
{
    /// <summary>Appends one formatted entry, with its line ending, to <paramref name="output"/>.</summary>
    /// <param name="output">The buffer.</param>
    /// <param name="timestamp">When it was logged.</param>
    /// <param name="level">The level.</param>
    /// <param name="category">The logger category.</param>
    /// <param name="message">The formatted message.</param>
    /// <param name="exception">The exception, if any.</param>
    public static void Append(StringBuilder output, DateTimeOffset timestamp, LogLevel level, string category, string message, Exception? exception)
    {
        output.Append(timestamp.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture))
            .Append(' ')
            .Append(LogLevelNames.ToName(level))
            .Append(" [")
            .Append(category)
            .Append("] ")
            .Append(message)
            .Append('\n');
        if (exception is not null)
        {
            output.Append(exception).Append('\n');
        }
    }
}
