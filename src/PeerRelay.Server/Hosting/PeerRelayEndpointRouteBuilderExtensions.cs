using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PeerRelay.Server.Internal;

namespace PeerRelay.Server.Hosting;

/// <summary>Maps the relay's endpoints.</summary>
public static class PeerRelayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the relay's WebSocket endpoint on <paramref name="pattern"/> (by default every path, as the reference
    /// accepts any path), liveness <c>/healthz</c> (200 <c>ok</c> while the process serves), readiness <c>/readyz</c>
    /// (200 <c>ready</c>, or 503 naming each failing check tagged <see cref="PeerRelayHealthChecks.ReadyTag"/>, e.g.
    /// <c>drain: draining</c>), and the browser client <c>/peerrelay.js</c> with its self-test page <c>/demo</c>
    /// (see <c>docs/browser.md</c>). The application must call <c>app.UseWebSockets()</c> before routing.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route pattern of the relay. Default <c>/{**path}</c>.</param>
    /// <returns>The convention builder of the relay endpoint.</returns>
    public static IEndpointConventionBuilder MapPeerRelay(this IEndpointRouteBuilder endpoints, string pattern = "/{**path}")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var health = endpoints.ServiceProvider.GetRequiredService<HealthCheckService>();
        endpoints.MapRelayPage("/healthz", static context => WriteTextAsync(context, StatusCodes.Status200OK, "ok\n"))
            .WithDisplayName("PeerRelay liveness");
        endpoints.MapRelayPage("/readyz", context => WriteReadinessAsync(context, health)).WithDisplayName("PeerRelay readiness");

        BrowserAssets.Map(endpoints);
        var handler = endpoints.ServiceProvider.GetRequiredService<RelayWebSocketHandler>();
        return endpoints.Map(pattern, handler.HandleAsync).WithDisplayName("PeerRelay WebSocket");
    }

    /// <summary>
    /// Maps <c>GET</c> and <c>HEAD</c> on <paramref name="pattern"/> to <paramref name="handler"/>: a plain HTTP page
    /// beside the relay. A WebSocket upgrade to the same path still goes to the relay, which answers on every path.
    /// Requires <see cref="PeerRelayServiceCollectionExtensions.AddPeerRelay"/>.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route pattern, e.g. <c>/metrics</c>.</param>
    /// <param name="handler">Writes the page.</param>
    /// <returns>The endpoint's convention builder.</returns>
    public static IEndpointConventionBuilder MapRelayPage(this IEndpointRouteBuilder endpoints, string pattern, RequestDelegate handler)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(handler);
        var relay = endpoints.ServiceProvider.GetRequiredService<RelayWebSocketHandler>();
        return endpoints.MapMethods(pattern, [HttpMethods.Get, HttpMethods.Head], context =>
            context.WebSockets.IsWebSocketRequest ? relay.HandleAsync(context) : handler(context));
    }

    private static async Task WriteReadinessAsync(HttpContext context, HealthCheckService health)
    {
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(PeerRelayHealthChecks.ReadyTag), context.RequestAborted);
        if (report.Status == HealthStatus.Healthy)
        {
            await WriteTextAsync(context, StatusCodes.Status200OK, "ready\n");
            return;
        }

        // Degraded is still ready (e.g. a fleet's node whose Redis is away keeps serving its own clients), and says why.
        var degraded = report.Status == HealthStatus.Degraded;
        var text = new System.Text.StringBuilder(degraded ? "degraded\n" : "not ready\n");
        foreach (var (name, entry) in report.Entries)
        {
            if (entry.Status == report.Status)
            {
                text.Append(name).Append(": ").Append(entry.Description ?? entry.Exception?.Message ?? "unhealthy").Append('\n');
            }
        }

        await WriteTextAsync(context, degraded ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, text.ToString());
    }

    private static Task WriteTextAsync(HttpContext context, int status, string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.ContentLength = bytes.Length;
        context.Response.Headers.CacheControl = "no-store";
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }
}
