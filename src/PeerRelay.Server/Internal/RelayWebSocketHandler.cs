using System.IO.Pipelines;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Internal.WebSockets;

namespace PeerRelay.Server.Internal;

/// <summary>The ASP.NET Core end of the relay: accepts the WebSocket and hands it to a <see cref="RelayConnection"/>.</summary>
internal sealed class RelayWebSocketHandler(
    RelayRouter router,
    RelayLifetime lifetime,
    ConnectionLimiter limiter,
    ClientAddressResolver addresses,
    IOptions<RelayServerOptions> options,
    ILogger<RelayConnection> connectionLogger)
{
    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = "websocket";
            await context.Response.WriteAsync("This is a PeerRelay relay server: connect with a WebSocket client (ws:// or wss://).\n", context.RequestAborted);
            return;
        }

        // Before the upgrade, so a page of a foreign site gets a plain 403 (cross-site WebSocket hijacking).
        if (!context.RequestServices.GetRequiredService<OriginPolicy>().Admit(context))
        {
            return;
        }

        if (lifetime.IsDraining)
        {
            await RefuseWhileDrainingAsync(context);
            return;
        }

        var client = addresses.Resolve(context);
        var admission = limiter.TryAdmit(client);
        if (admission != ConnectionAdmission.Admitted)
        {
            await ConnectionRefusal.WriteAsync(context, admission);
            return;
        }

        try
        {
            await AcceptAndRunAsync(context, client);
        }
        finally
        {
            limiter.Release(client);
        }
    }

    /// <summary>
    /// Accepts the upgrade and closes at once with 1001, as a shutting-down relay's clients are closed. Not an HTTP
    /// 503: ProxyStore's RelayClient reconnects at once after a 1001 and retries refused connections and close
    /// codes, but an HTTP status in the handshake escapes its retry loop and ends the endpoint process.
    /// </summary>
    private async Task RefuseWhileDrainingAsync(HttpContext context)
    {
        using var timeout = new CancellationTokenSource(options.Value.CloseTimeout);
        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { DangerousEnableCompression = false });
            await socket.CloseAsync((WebSocketCloseStatus)RelayCloseCodes.GoingAway, RelayLifetime.ShutdownReason, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
        {
            // The client went first; it was being turned away anyway.
        }
    }

    /// <summary>
    /// Upgrades the request itself (the 101 with <c>Sec-WebSocket-Accept</c>) and runs the relay's own framing over the
    /// upgraded stream. The faster path, <see cref="RelayConnectionMiddleware"/>, takes upgrades before HTTP/1 sees them;
    /// this one serves hosts without it and upgrades on a connection that served a plain request first.
    /// </summary>
    private async Task AcceptAndRunAsync(HttpContext context, System.Net.IPAddress? client)
    {
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is not { IsUpgradableRequest: true })
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            return;
        }

        context.Response.Headers.Connection = "Upgrade";
        context.Response.Headers.Upgrade = "websocket";
        context.Response.Headers.SecWebSocketAccept = WebSocketFrame.ComputeAccept(context.Request.Headers.SecWebSocketKey.ToString());
        Stream stream;
        try
        {
            stream = await upgrade.UpgradeAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            return;
        }

        await using (stream)
        {
            var transport = new StreamTransport(PipeReader.Create(stream), PipeWriter.Create(stream));
            var handshake = new RelayHandshake(context.Request.Headers, context.Request.Query, client);
            var connection = new RelayConnection(transport, context, handshake, client, context.Connection.RemotePort, router, options.Value, connectionLogger);
            router.OnOpened(connection);
            await connection.RunAsync();
        }
    }

    private sealed record StreamTransport(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
