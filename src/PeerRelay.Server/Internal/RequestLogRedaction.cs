using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Keeps browser tokens out of the logs. Browsers cannot set headers on a WebSocket, so they send the token as the
/// <c>access_token</c> query parameter, and ASP.NET Core's hosting diagnostics print every request line with its
/// query string ("Request starting ... ?access_token=...") at Information. This caps the categories that print
/// request lines at Warning for every logger provider, after all other logging configuration, so no level setting
/// can turn them back on.
/// </summary>
internal static class RequestLogRedaction
{
    /// <summary>Categories whose events below Warning can carry the full request line, query string included.</summary>
    public static readonly string[] RequestLineCategories =
    [
        "Microsoft.AspNetCore.Hosting.Diagnostics",
        "Microsoft.AspNetCore.Server.Kestrel.BadRequests",
        "Microsoft.AspNetCore.HttpLogging",
    ];

    public static void Add(IServiceCollection services) =>
        services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>>(sp => new Rules(sp));

    /// <summary>Appends the rules last, so that they win over configured rules of the same specificity.</summary>
    private sealed class Rules(IServiceProvider services) : IPostConfigureOptions<LoggerFilterOptions>
    {
        public void PostConfigure(string? name, LoggerFilterOptions options)
        {
            // A provider-specific rule (e.g. "Console": { "LogLevel": { "Default": "Trace" } }) outranks any rule
            // without a provider, so each registered provider gets its own capped rule too.
            var providers = services.GetServices<ILoggerProvider>().Select(p => p.GetType().FullName).Prepend(null).ToList();
            foreach (var category in RequestLineCategories)
            {
                foreach (var provider in providers)
                {
                    options.Rules.Add(new LoggerFilterRule(provider, category, LogLevel.Warning, null));
                }
            }
        }
    }
}
