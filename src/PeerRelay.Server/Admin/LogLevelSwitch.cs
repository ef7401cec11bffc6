using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace PeerRelay.Server.Admin;

/// <summary>
/// Changes the level of PeerRelay's own log categories (<c>PeerRelay.*</c>) while the relay runs: a filter rule added
/// after the host's own, and a change signal that makes the logger factory reload its filters.
/// </summary>
internal sealed class LogLevelSwitch : IPostConfigureOptions<LoggerFilterOptions>, IOptionsChangeTokenSource<LoggerFilterOptions>, IDisposable
{
    /// <summary>The category prefix the switch sets.</summary>
    public const string Category = "PeerRelay";

    private readonly Lock _lock = new();
    private CancellationTokenSource _changed = new();
    private LogLevel? _level;

    /// <summary>Gets the level set at run time, or null when the host's configuration applies.</summary>
    public LogLevel? Level
    {
        get
        {
            lock (_lock)
            {
                return _level;
            }
        }
    }

    public string? Name => Options.DefaultName;

    public IChangeToken GetChangeToken()
    {
        lock (_lock)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public void PostConfigure(string? name, LoggerFilterOptions options)
    {
        if (Level is { } level)
        {
            options.Rules.Add(new LoggerFilterRule(providerName: null, Category, level, filter: null));
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _changed.Dispose();
        }
    }

    /// <summary>Sets the level of every <c>PeerRelay.*</c> category.</summary>
    public void Set(LogLevel level)
    {
        CancellationTokenSource changed;
        lock (_lock)
        {
            _level = level;
            changed = _changed;
            _changed = new CancellationTokenSource();
        }

        changed.Cancel();
        changed.Dispose();
    }

    /// <summary>The effective level of PeerRelay's categories: the one set here, or what the host configured.</summary>
    public static LogLevel Effective(ILogger logger)
    {
        for (var level = LogLevel.Trace; level < LogLevel.None; level++)
        {
            if (logger.IsEnabled(level))
            {
                return level;
            }
        }

        return LogLevel.None;
    }
}
