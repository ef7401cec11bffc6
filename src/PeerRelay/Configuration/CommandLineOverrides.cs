namespace PeerRelay.Configuration;

/// <summary>The <c>serve</c> options that override the configuration file; null leaves the file's value.</summary>
/// <param name="Host">The <c>--host</c> value.</param>
/// <param name="Port">The <c>--port</c> value.</param>
/// <param name="LogDir">The <c>--log-dir</c> value.</param>
/// <param name="LogLevel">The <c>--log-level</c> value (a level name, any case).</param>
internal sealed record CommandLineOverrides(string? Host = null, int? Port = null, string? LogDir = null, string? LogLevel = null)
{
    /// <summary>Gets no overrides.</summary>
    public static CommandLineOverrides None { get; } = new();
}
