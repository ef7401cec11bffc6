using Microsoft.Extensions.Logging;

namespace PeerRelay.Logging;

/// <summary>A logger that hands its entries to the <see cref="WeeklyFileLoggerProvider"/>'s background writer.</summary>
/// <param name="category">The category.</param>
/// <param name="provider">The provider that owns the writer.</param>
internal sealed class WeeklyFileLogger(string category, WeeklyFileLoggerProvider provider) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        provider.Enqueue(logLevel, category, eventId, formatter(state, exception), exception, provider.Json ? LogLineFormatter.FieldsOf(state) : null);
    }
}
