using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace PeerRelay.Logging;

/// <summary>Writes console log entries in the same format as the log files (<see cref="LogLineFormatter"/>): text or JSON.</summary>
/// <param name="timeProvider">The clock of the timestamps.</param>
/// <param name="json">Whether lines are JSON objects (<c>log_format = "json"</c>).</param>
internal sealed class RelayConsoleFormatter(TimeProvider timeProvider, bool json) : ConsoleFormatter(FormatterName)
{
    /// <summary>The name the console logger selects this formatter by.</summary>
    public const string FormatterName = "peerrelay";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message) && logEntry.Exception is null)
        {
            return;
        }

        var line = new StringBuilder(message.Length + 64);
        if (json)
        {
            LogLineFormatter.AppendJson(line, timeProvider.GetUtcNow(), logEntry.LogLevel, logEntry.Category, logEntry.EventId, message, logEntry.Exception, LogLineFormatter.FieldsOf(logEntry.State));
        }
        else
        {
            LogLineFormatter.Append(line, timeProvider.GetUtcNow(), logEntry.LogLevel, logEntry.Category, message, logEntry.Exception);
        }

        textWriter.Write(line);
    }
}
