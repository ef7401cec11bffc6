using Microsoft.Extensions.Logging;

namespace PeerRelay.Configuration;

/// <summary>The <c>[logging]</c> table's levels and log directory.</summary>
internal sealed class RelayLoggingConfig
{
    /// <summary>Gets or sets the directory of the weekly log files (<c>log_dir</c>); null (the default) logs to the console only.</summary>
    public string? LogDir { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether log lines are JSON objects (<c>log_format = "json"</c>) rather than text
    /// (<c>"text"</c>, the default), on the console and in the files.
    /// </summary>
    public bool JsonFormat { get; set; }

    /// <summary>Gets or sets the level of PeerRelay's own logs (<c>default_level</c>). Default INFO.</summary>
    public LogLevel DefaultLevel { get; set; } = LogLevel.Information;

    /// <summary>
    /// Gets or sets the level of the ASP.NET Core, Kestrel and WebSocket logs (<c>websockets_level</c>). Default WARNING,
    /// as the reference, because they are chatty.
    /// </summary>
    public LogLevel WebSocketsLevel { get; set; } = LogLevel.Warning;
}
