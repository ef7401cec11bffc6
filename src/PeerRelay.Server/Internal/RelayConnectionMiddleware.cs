using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Internal.WebSockets;

namespace PeerRelay.Server.Internal;

/// <summary>
/// The relay's front door (installed with <c>ListenOptions.UsePeerRelay()</c>): a Kestrel connection middleware that
/// reads a new connection's first request itself. A WebSocket upgrade is checked (origin, drain, connection limits),
/// answered with 101 and run as a <see cref="RelayConnection"/> straight over the connection's transport pipes, with
/// no HTTP/1 request, header collections or upgrade stream kept alive under it. Anything else is handed, unread, to
/// Kestrel's HTTP/1 (<c>/healthz</c>, <c>/peerrelay.js</c>, <c>/demo</c>, and upgrades on keep-alive connections,
/// which <see cref="RelayWebSocketHandler"/> serves).
/// </summary>
internal sealed partial class RelayConnectionMiddleware
{
    /// <summary>Longest request head taken over, Kestrel's default for HTTP/1 (a longer one gets its 431).</summary>
    private const int MaxHeadBytes = 32 * 1024;

    private static ReadOnlySpan<byte> SwitchingProtocols =>
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: "u8;

    private readonly ConnectionDelegate _next;
    private readonly RelayRouter _router;
    private readonly RelayLifetime _lifetime;
    private readonly ConnectionLimiter _limiter;
    private readonly ClientAddressResolver _addresses;
    private readonly OriginPolicy _origins;
    private readonly RelayMetrics _metrics;
    private readonly RelayServerOptions _options;
    private readonly RelayConnectionServices _connectionServices;
    private readonly ILogger<RelayConnectionMiddleware> _logger;
    private readonly LogThrottle _handshakeTimeoutLog = new();
    private readonly bool _authenticates;
    private readonly bool _keepsHead; // Something reads an upgrade's headers after its parse (else only its key is kept).
    private readonly bool _startedByFirstBytes;

    /// <param name="next">What serves a connection that is not a relay WebSocket upgrade.</param>
    /// <param name="services">The application's services.</param>
    /// <param name="startedByFirstBytes">
    /// The transport runs the middleware once a connection's first bytes arrived, or when handshake_timeout passed
    /// without any (an event-loop endpoint of the epoll transport): nothing to read at the start means timed out.
    /// </param>
    public RelayConnectionMiddleware(ConnectionDelegate next, IServiceProvider services, bool startedByFirstBytes = false)
    {
        _next = next;
        _startedByFirstBytes = startedByFirstBytes;
        _router = services.GetRequiredService<RelayRouter>();
        _lifetime = services.GetRequiredService<RelayLifetime>();
        _limiter = services.GetRequiredService<ConnectionLimiter>();
        _addresses = services.GetRequiredService<ClientAddressResolver>();
        _origins = services.GetRequiredService<OriginPolicy>();
        _metrics = services.GetRequiredService<RelayMetrics>();
        _options = services.GetRequiredService<IOptions<RelayServerOptions>>().Value;
        _connectionServices = new RelayConnectionServices(_router, _options, services.GetRequiredService<ILogger<RelayConnection>>(), _limiter);
        _logger = services.GetRequiredService<ILogger<RelayConnectionMiddleware>>();
        _authenticates = services.GetRequiredService<IRelayAuthenticator>() is not NoAuthenticator;
        _keepsHead = _authenticates || _origins.IsActive || _addresses.HasTrustedProxies;
    }

    /// <summary>
    /// Serves one connection. Written without <c>async</c> on the common path, where the head is already in and the 101
    /// goes out at once, so that an idle client's suspended call chain is only its receive loop.
    /// </summary>
    public Task OnConnectedAsync(ConnectionContext context)
    {
        var upgrade = ReadUpgradeAsync(context);
        return upgrade.IsCompletedSuccessfully ? Serve(context, upgrade.Result) : ServeAsync(context, upgrade);
    }

    private async Task ServeAsync(ConnectionContext context, ValueTask<UpgradeRequest?> upgrade) =>
        await Serve(context, await upgrade);

    private Task Serve(ConnectionContext context, UpgradeRequest? request)
    {
        if (request is null)
        {
            return Task.CompletedTask;
        }

        var accepted = AcceptAsync(context, request);
        return accepted.IsCompletedSuccessfully
            ? accepted.Result?.RunAsync() ?? Task.CompletedTask
            : RunWhenAcceptedAsync(accepted);
    }

    private static async Task RunWhenAcceptedAsync(ValueTask<RelayConnection?> accepted)
    {
        if (await accepted is { } connection)
        {
            await connection.RunAsync();
        }
    }

    /// <summary>Reads the request head; returns null when the connection was handed to HTTP/1 or given up.</summary>
    private async ValueTask<UpgradeRequest?> ReadUpgradeAsync(ConnectionContext context)
    {
        var input = context.Transport.Input;
        CancellationTokenSource? timeout = null;
        var first = true;
        try
        {
            while (true)
            {
                ReadResult result;
                if (!input.TryRead(out result))
                {
                    if (first && _startedByFirstBytes)
                    {
                        TimedOut(context);
                        return null;
                    }

                    // Only a client that has not sent its whole head yet costs a timer.
                    timeout ??= new CancellationTokenSource(_options.HandshakeTimeout);
                    try
                    {
                        result = await input.ReadAsync(timeout.Token);
                    }
                    catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                    {
                        TimedOut(context);
                        return null;
                    }
                }

                first = false;

                var buffer = result.Buffer;
                var parse = UpgradeRequest.TryParse(buffer, MaxHeadBytes, _keepsHead, out var request, out var end);
                if (parse == UpgradeParse.Upgrade)
                {
                    input.AdvanceTo(end);
                    return request;
                }

                if (parse == UpgradeParse.NeedMore && !result.IsCompleted)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                // Not ours: HTTP/1 reads the same bytes from the start.
                input.AdvanceTo(buffer.Start, buffer.Start);
                timeout?.Dispose();
                timeout = null;
                await _next(context);
                return null;
            }
        }
        catch (Exception ex) when (ex is IOException or ConnectionAbortedException)
        {
            return null;
        }
        finally
        {
            timeout?.Dispose();
        }
    }

    /// <summary>No complete request head within handshake_timeout: counted, logged (throttled) and aborted.</summary>
    private void TimedOut(ConnectionContext context)
    {
        _metrics.LimitHit("handshake_timeout");
        if (_handshakeTimeoutLog.ShouldLog(out var skipped))
        {
            Log.HandshakeTimedOut(_logger, context.RemoteEndPoint?.ToString() ?? "?", _options.HandshakeTimeout.TotalSeconds, skipped);
        }

        context.Abort();
    }

    /// <summary>
    /// Checks the upgrade (origin, drain, connection limits) and answers it: a refusal, or the 101 and a new
    /// <see cref="RelayConnection"/>, which releases its admission when it ends. Returns null when refused or gone.
    /// </summary>
    private async ValueTask<RelayConnection?> AcceptAsync(ConnectionContext context, UpgradeRequest request)
    {
        var endpoint = context.RemoteEndPoint as IPEndPoint;
        var admittedBy = default(ConnectionLimiter);
        var client = default(IPAddress);
        try
        {
            if (_origins.IsActive && !_origins.Admit(request.Headers, SchemeOf(context), request.Headers.Host.ToString(), endpoint?.Address))
            {
                await RefuseAsync(context, StatusCodes.Status403Forbidden, "Origin not allowed.\n");
                return null;
            }

            client = _addresses.Resolve(endpoint?.Address, _addresses.HasTrustedProxies ? request.Headers["X-Forwarded-For"] : default);
            var refusal = _lifetime.IsDraining ? ConnectionRefusal.DrainingReason : null;
            if (refusal is null)
            {
                var admission = _limiter.TryAdmit(ref client);
                if (admission == ConnectionAdmission.Admitted)
                {
                    admittedBy = _limiter;
                }
                else
                {
                    refusal = ConnectionRefusal.ReasonOf(admission);
                }
            }

            // The request head is kept only for an authenticator to look at.
            var handshake = _authenticates ? request.Head : null;
            var connection = new RelayConnection(
                context.Transport, context, handshake, client, endpoint?.Port ?? 0, _connectionServices, admitted: admittedBy is not null);
            admittedBy = null; // The connection releases it from now on.
            WriteSwitchingProtocols(context.Transport.Output, request);
            _router.OnOpened(connection);
            if (refusal is not null)
            {
                // The 101 and the 1013 close frame leave in one send.
                ConnectionRefusal.Refuse(connection, refusal);
            }
            else
            {
                var accepted = context.Transport.Output.FlushAsync();
                if (!accepted.IsCompletedSuccessfully)
                {
                    await accepted;
                }
            }

            return connection;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The client went away during the handshake.
            Log.HandshakeFailed(_logger, endpoint?.ToString() ?? "?", ex.Message);
            return null;
        }
        finally
        {
            admittedBy?.Release(client);
        }
    }

    private static string SchemeOf(ConnectionContext context) =>
        context.Features.Get<ITlsHandshakeFeature>() is null ? "http" : "https";

    /// <summary>Writes the 101 answer (not flushed).</summary>
    private static void WriteSwitchingProtocols(PipeWriter output, UpgradeRequest request)
    {
        var length = SwitchingProtocols.Length + WebSocketFrame.AcceptLength + 4;
        var span = output.GetSpan(length);
        SwitchingProtocols.CopyTo(span);
        WebSocketFrame.WriteAccept(request.Key, span[SwitchingProtocols.Length..]);
        "\r\n\r\n"u8.CopyTo(span[(length - 4)..]);
        output.Advance(length);
    }

    /// <summary>Answers a browser handshake from a foreign origin with an HTTP status (before any WebSocket exists).</summary>
    private static async Task RefuseAsync(ConnectionContext context, int status, string text)
    {
        var response = $"HTTP/1.1 {status} {ReasonPhrases.GetReasonPhrase(status)}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(text)}\r\n"
            + $"Connection: close\r\n\r\n{text}";
        await context.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes(response));
        await context.Transport.Output.CompleteAsync();
    }

    private static partial class Log
    {
        [LoggerMessage(140, LogLevel.Information, "Closed a connection from {Remote}: no complete request within handshake_timeout ({Seconds} s) ({Skipped} more not logged)")]
        public static partial void HandshakeTimedOut(ILogger logger, string remote, double seconds, int skipped);

        [LoggerMessage(141, LogLevel.Debug, "WebSocket handshake with {Remote} failed: {Why}")]
        public static partial void HandshakeFailed(ILogger logger, string remote, string why);
    }
}
