using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using PeerRelay.Configuration;

namespace PeerRelay.Logging;

/// <summary>Sets up the console and weekly-file logs and the level of each category from <c>[logging]</c>.</summary>
internal static class RelayLogging
{
    /// <summary>
    /// The category of the start-up lines ("PeerRelay listening on ...", configuration warnings). It logs at INFO even
    /// when <c>default_level</c> is higher, so the address is always printed.
    /// </summary>
    public const string StartupCategory = "PeerRelay.Startup";

    // Framework categories that follow websockets_level (the reference's level for its WebSocket library).
    private static readonly string[] FrameworkCategories = ["Microsoft", "System"];

    // These log the request line, query string included, where browsers put access_token: never below WARNING.
    private static readonly string[] RequestLineCategories =
    [
        "Microsoft.AspNetCore.Hosting.Diagnostics",
        "Microsoft.AspNetCore.Server.Kestrel.BadRequests",
        "Microsoft.AspNetCore.HttpLogging",
    ];

    // The generic host logs a failed start ("Hosting failed to start", with the exception's whole stack) at ERROR and
    // rethrows; `peerrelay serve` turns that exception into one clear line (a port in use: "cannot listen: ...") or
    // lets it end the process, so the ERROR entry only repeats it at length. What the host logs at CRITICAL (a
    // background service stopping the host) stays.
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>Replaces the builder's providers with PeerRelay's console and (when <c>log_dir</c> is set) file logs.</summary>
    /// <param name="logging">The logging builder.</param>
    /// <param name="config">The <c>[logging]</c> settings.</param>
    public static void Configure(ILoggingBuilder logging, RelayLoggingConfig config)
    {
        ArgumentNullException.ThrowIfNull(logging);
        ArgumentNullException.ThrowIfNull(config);
        logging.ClearProviders();
        logging.Services.TryAddSingleton(TimeProvider.System);
        logging.AddConsole(o => o.FormatterName = RelayConsoleFormatter.FormatterName);
        var json = config.JsonFormat;
        logging.Services.AddSingleton<ConsoleFormatter>(sp => new RelayConsoleFormatter(sp.GetRequiredService<TimeProvider>(), json));
        if (config.LogDir is { } directory)
        {
            // Registered as a factory so the container disposes it, which drains the queue into the file.
            logging.Services.AddSingleton<ILoggerProvider>(sp => new WeeklyFileLoggerProvider(directory, TimeProvider.System, json));
        }

        logging.SetMinimumLevel(config.DefaultLevel);
        foreach (var category in FrameworkCategories)
        {
            logging.AddFilter(category, config.WebSocketsLevel);
        }

        var quiet = config.WebSocketsLevel > LogLevel.Warning ? config.WebSocketsLevel : LogLevel.Warning;
        foreach (var category in RequestLineCategories)
        {
            logging.AddFilter(category, quiet);
        }

        logging.AddFilter(HostCategory, config.WebSocketsLevel > LogLevel.Critical ? config.WebSocketsLevel : LogLevel.Critical);
        logging.AddFilter(StartupCategory, config.DefaultLevel < LogLevel.Information ? config.DefaultLevel : LogLevel.Information);
    }
}
