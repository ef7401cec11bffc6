using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Server.Internal;

namespace PeerRelay.Server.Hosting;

/// <summary>Maps the relay's endpoints.</summary>
public static class PeerRelayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the relay's WebSocket endpoint on <paramref name="pattern"/> (by default every path, as the reference
    /// accepts any path), the readiness endpoint <c>/healthz</c> (200 <c>ready</c>, 503 <c>draining</c>), and the
    /// browser client <c>/peerrelay.js</c> with its self-test page <c>/demo</c> (see <c>docs/browser.md</c>).
    /// The application must call <c>app.UseWebSockets()</c> before routing.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route pattern of the relay. Default <c>/{**path}</c>.</param>
    /// <returns>The convention builder of the relay endpoint.</returns>
    public static IEndpointConventionBuilder MapPeerRelay(this IEndpointRouteBuilder endpoints, string pattern = "/{**path}")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var lifetime = endpoints.ServiceProvider.GetRequiredService<RelayLifetime>();
        endpoints.MapGet("/healthz", (HttpContext context) =>
            lifetime.IsDraining
                ? Results.Text("draining\n", statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Text("ready\n"));

        var handler = endpoints.ServiceProvider.GetRequiredService<RelayWebSocketHandler>();
        BrowserAssets.Map(endpoints, handler);
        return endpoints.Map(pattern, handler.HandleAsync).WithDisplayName("PeerRelay WebSocket");
    }
}
