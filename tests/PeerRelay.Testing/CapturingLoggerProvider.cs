using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PeerRelay.Testing;

/// <summary>Collects every log event (formatted message and structured values) of a test server, at any level.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>Gets every event seen so far as "level category: message | key=value ...".</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            owner._lines.Enqueue($"scope {category}: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}: {formatter(state, exception)}";
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                line += " |" + string.Concat(values.Select(v => $" {v.Key}={v.Value}"));
            }

            if (exception is not null)
            {
                line += " | " + exception;
            }

            owner._lines.Enqueue(line);
        }
    }
}
