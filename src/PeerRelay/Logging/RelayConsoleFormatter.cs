using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace PeerRelay.Logging;

/// <summary>Writes console log entries in the same format as the log files (<see cref="LogLineFormatter"/>).</summary>
internal sealed class RelayConsoleFormatter(TimeProvider timeProvider) : ConsoleFormatter(FormatterName)
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
        LogLineFormatter.Append(line, timeProvider.GetUtcNow(), logEntry.LogLevel, logEntry.Category, message, logEntry.Exception);
        textWriter.Write(line);
    }
}
