using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Internal;

/// <summary>
/// The origin allow-list (<see cref="RelayServerOptions.AllowedOrigins"/>): refuses a browser's WebSocket handshake
/// from a page on another site, so that such a page cannot ride on the user's cookies or browser-held credentials
/// (cross-site WebSocket hijacking). Clients that are not browsers send no <c>Origin</c> and are let through.
/// </summary>
internal sealed partial class OriginPolicy
{
    private readonly HashSet<string>? _allowed;
    private readonly RelayMetrics _metrics;
    private readonly ILogger<OriginPolicy> _logger;
    private readonly LogThrottle _log = new();

    public OriginPolicy(IOptions<RelayServerOptions> options, RelayMetrics metrics, ILogger<OriginPolicy> logger)
    {
        _metrics = metrics;
        _logger = logger;
        var origins = options.Value.AllowedOrigins;
        if (origins.Count > 0 && !origins.Contains("*"))
        {
            _allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var origin in origins)
            {
                _allowed.Add(Normalize(origin)!);
            }
        }
    }

    /// <summary>Gets a value indicating whether an allow-list is configured (otherwise every origin is admitted).</summary>
    public bool IsActive => _allowed is not null;

    /// <summary>
    /// Returns <see langword="true"/> when the request may be upgraded; otherwise logs, counts and answers it with
    /// 403 (the caller must then return).
    /// </summary>
    public bool Admit(HttpContext context)
    {
        if (Admit(context.Request.Headers, context.Request.Scheme, context.Request.Host.Value, context.Connection.RemoteIpAddress))
        {
            return true;
        }

        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return false;
    }

    /// <summary>
    /// Returns <see langword="true"/> when a request with <paramref name="headers"/>, sent to <paramref name="host"/>
    /// over <paramref name="scheme"/>, may be upgraded; otherwise logs and counts the refusal (the caller answers 403).
    /// </summary>
    public bool Admit(IHeaderDictionary headers, string scheme, string? host, System.Net.IPAddress? remote)
    {
        if (_allowed is null)
        {
            return true;
        }

        var header = headers.Origin;
        if (header.Count == 0)
        {
            return true;
        }

        var origin = header.ToString();
        if (header.Count == 1 && Normalize(origin) is { } normalized
            && (_allowed.Contains(normalized) || IsSameOrigin(normalized, scheme, host)))
        {
            return true;
        }

        _metrics.HandshakeRejected("origin");
        if (_log.ShouldLog(out var skipped))
        {
            Log.OriginRefused(_logger, Printable(origin), remote?.ToString() ?? "?", skipped);
        }

        return false;
    }

    /// <summary>
    /// A page the relay served itself (e.g. <c>/demo</c>) comes from the relay's own origin, which is always allowed.
    /// Behind a reverse proxy that changes the scheme or port, list the public origin instead.
    /// </summary>
    private static bool IsSameOrigin(string origin, string scheme, string? host) =>
        !string.IsNullOrEmpty(host) && Normalize($"{scheme}://{host}") is { } own && own == origin;

    /// <summary>Checks the configured origins; returns "allowed_origins: ..." problems.</summary>
    public static IEnumerable<string> Validate(IEnumerable<string> origins)
    {
        foreach (var origin in origins)
        {
            if (origin != "*" && Normalize(origin) is null)
            {
                yield return $"allowed_origins: '{origin}' is not an origin; use scheme://host[:port] (e.g. https://app.example.org) or *";
            }
        }
    }

    /// <summary>Returns <c>scheme://host[:port]</c> in lower case, without a default port, or null when not an origin.</summary>
    private static string? Normalize(string? origin)
    {
        if (string.IsNullOrWhiteSpace(origin)
            || !Uri.TryCreate(origin.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            return null;
        }

        return uri.IsDefaultPort
            ? $"{uri.Scheme}://{uri.IdnHost}".ToLowerInvariant()
            : $"{uri.Scheme}://{uri.IdnHost}:{uri.Port}".ToLowerInvariant();
    }

    /// <summary>An origin as sent, cut short and stripped of control characters, for the log.</summary>
    private static string Printable(string origin)
    {
        var text = origin.Length > 100 ? origin[..100] + "..." : origin;
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused a WebSocket handshake from {Remote}: origin {Origin} is not in allowed_origins (HTTP 403) ({Skipped} more not logged)")]
        public static partial void OriginRefused(ILogger logger, string origin, string remote, int skipped);
    }
}
