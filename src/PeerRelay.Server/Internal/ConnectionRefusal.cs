using Microsoft.AspNetCore.Http;

namespace PeerRelay.Server.Internal;

/// <summary>The HTTP answer to an upgrade refused by <see cref="ConnectionLimiter"/>, before any WebSocket exists.</summary>
internal static class ConnectionRefusal
{
    /// <summary>Seconds a refused client is asked to wait (<c>Retry-After</c>); ProxyStore's back-off starts at 1 s.</summary>
    private const string RetryAfterSeconds = "5";

    public static Task WriteAsync(HttpContext context, ConnectionAdmission admission)
    {
        var (status, text) = admission == ConnectionAdmission.TooManyFromAddress
            ? (StatusCodes.Status429TooManyRequests, "Too many connections from this address (max_connections_per_ip).\n")
            : (StatusCodes.Status503ServiceUnavailable, "The relay is at its connection limit (max_connections).\n");
        context.Response.StatusCode = status;
        context.Response.Headers.RetryAfter = RetryAfterSeconds;
        context.Response.Headers.Connection = "close";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }
}
