using System.IO.Pipelines;
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
    private readonly RelayConnectionServices _services = new(router, options.Value, connectionLogger, limiter);

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

        var client = addresses.Resolve(context);
        var refusal = lifetime.IsDraining ? ConnectionRefusal.DrainingReason : null;
        var admittedBy = default(ConnectionLimiter);
        if (refusal is null)
        {
            var admission = limiter.TryAdmit(ref client);
            if (admission == ConnectionAdmission.Admitted)
            {
                admittedBy = limiter;
            }
            else
            {
                refusal = ConnectionRefusal.ReasonOf(admission);
            }
        }

        await AcceptAndRunAsync(context, client, admittedBy, refusal);
    }

    /// <summary>
    /// Upgrades the request itself (the 101 with <c>Sec-WebSocket-Accept</c>) and runs the relay's own framing over the
    /// upgraded stream. The faster path, <see cref="RelayConnectionMiddleware"/>, takes upgrades before HTTP/1 sees them;
    /// this one serves hosts without it and upgrades on a connection that served a plain request first. A refused upgrade
    /// (<paramref name="refusal"/>: drain or a connection limit) is accepted and closed at once with 1013
    /// (<see cref="ConnectionRefusal"/>). <paramref name="admittedBy"/> is released by the connection once it exists.
    /// </summary>
    private async Task AcceptAndRunAsync(HttpContext context, System.Net.IPAddress? client, ConnectionLimiter? admittedBy, string? refusal)
    {
        try
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
                var connection = new RelayConnection(
                    transport, context, handshake, client, context.Connection.RemotePort, _services, admitted: admittedBy is not null);
                admittedBy = null; // The connection releases it from now on.
                router.OnOpened(connection);
                if (refusal is not null)
                {
                    ConnectionRefusal.Refuse(connection, refusal);
                }

                await connection.RunAsync();
            }
        }
        finally
        {
            admittedBy?.Release(client);
        }
    }

    private sealed record StreamTransport(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
