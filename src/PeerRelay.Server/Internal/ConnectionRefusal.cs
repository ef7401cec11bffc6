using Microsoft.AspNetCore.Http;

namespace PeerRelay.Server.Internal;

/// <summary>The HTTP answer to an upgrade refused by <see cref="ConnectionLimiter"/>, before any WebSocket exists.</summary>
internal static class ConnectionRefusal
{
    /// <summary>Seconds a refused client is asked to wait (<c>Retry-After</c>); ProxyStore's back-off starts at 1 s.</summary>
    public const string RetryAfterSeconds = "5";

    /// <summary>The HTTP status and body text of a refusal.</summary>
    public static (int Status, string Text) Describe(ConnectionAdmission admission) =>
        admission == ConnectionAdmission.TooManyFromAddress
            ? (StatusCodes.Status429TooManyRequests, "Too many connections from this address (max_connections_per_ip).\n")
            : (StatusCodes.Status503ServiceUnavailable, "The relay is at its connection limit (max_connections).\n");

    public static Task WriteAsync(HttpContext context, ConnectionAdmission admission)
    {
        var (status, text) = Describe(admission);
        context.Response.StatusCode = status;
        context.Response.Headers.RetryAfter = RetryAfterSeconds;
        context.Response.Headers.Connection = "close";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }
}
