using Microsoft.AspNetCore.Http;
using PeerRelay.Configuration;

namespace PeerRelay.Hosting;

/// <summary>
/// Keeps each port to its job: <c>metrics_port</c> serves only <c>/metrics</c> (which the relay's port then no longer
/// serves), <c>admin_port</c> only <c>/admin</c>; neither takes a WebSocket upgrade. Anything else there gets 404.
/// </summary>
internal static class OperationsPorts
{
    /// <summary>The path of the Prometheus endpoint.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The path under which the admin dashboard and API live.</summary>
    public const string AdminPath = "/admin";

    /// <summary>Adds the check in front of routing, when either port is set.</summary>
    public static void Use(WebApplication app, RelayConfig config)
    {
        if (config.MetricsPort is null && config.AdminPort is null)
        {
            return;
        }

        var metricsPort = config.MetricsPort;
        var adminPort = config.AdminPort;
        app.Use((context, next) =>
        {
            var port = context.Connection.LocalPort;
            var path = context.Request.Path;
            var allowed = port == metricsPort ? path.Equals(MetricsPath, StringComparison.Ordinal) && !context.WebSockets.IsWebSocketRequest
                : port == adminPort ? path.StartsWithSegments(AdminPath, StringComparison.Ordinal) && !context.WebSockets.IsWebSocketRequest
                : metricsPort is null || !path.Equals(MetricsPath, StringComparison.Ordinal);
            if (allowed)
            {
                return next(context);
            }

            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
    }
}
