using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Keeps browser tokens out of the logs. Browsers cannot set headers on a WebSocket, so they send the token as the
/// <c>access_token</c> query parameter, and ASP.NET Core's hosting diagnostics print every request line with its
/// query string ("Request starting ... ?access_token=...") at Information. This caps that one category at Warning
/// for every logger provider, after all other logging configuration, so no level setting can turn it back on.
/// </summary>
internal static class RequestLogRedaction
{
    /// <summary>The category whose Information events carry the full request line, query string included.</summary>
    public const string HostingDiagnostics = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public static void Add(IServiceCollection services) =>
        services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>>(sp => new Rules(sp));

    /// <summary>Appends the rules last, so that they win over configured rules of the same specificity.</summary>
    private sealed class Rules(IServiceProvider services) : IPostConfigureOptions<LoggerFilterOptions>
    {
        public void PostConfigure(string? name, LoggerFilterOptions options)
        {
            options.Rules.Add(new LoggerFilterRule(null, HostingDiagnostics, LogLevel.Warning, null));

            // A provider-specific rule (e.g. "Console": { "LogLevel": { "Default": "Trace" } }) outranks any rule
            // without a provider, so each registered provider gets its own capped rule too.
            foreach (var provider in services.GetServices<ILoggerProvider>())
            {
                options.Rules.Add(new LoggerFilterRule(provider.GetType().FullName, HostingDiagnostics, LogLevel.Warning, null));
            }
        }
    }
}
