using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerRelay.Server;
using PeerRelay.Server.Hosting;
using PeerRelay.Transport;

namespace PeerRelay.Testing;

/// <summary>A real relay on real Kestrel, listening on 127.0.0.1 on a free port.</summary>
public sealed class RelayTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RelayTestServer(WebApplication app, Uri uri)
    {
        _app = app;
        Uri = uri;
    }

    /// <summary>Gets the relay's address, <c>ws://127.0.0.1:PORT/</c>.</summary>
    public Uri Uri { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a relay on 127.0.0.1.</summary>
    /// <param name="configure">Changes the relay's options.</param>
    /// <param name="relay">Adds to the relay's builder (an authenticator, scale-out).</param>
    /// <param name="host">Changes the host builder.</param>
    /// <param name="port">The port; 0 picks a free one.</param>
    /// <param name="connectionMiddleware">
    /// Whether the endpoint runs the relay's connection middleware (<c>UsePeerRelay()</c>). False sends every upgrade
    /// through <c>MapPeerRelay</c>'s endpoint, as a host without the middleware does.
    /// </param>
    /// <param name="relaySockets">
    /// Whether Kestrel accepts connections with the PeerRelay socket transport (<c>UseRelaySockets()</c>, what
    /// <c>peerrelay serve</c> runs by default, or with <c>PEERRELAY_TEST_TRANSPORT=epoll</c> the epoll transport with
    /// the relay on its event loop); false uses Kestrel's own socket transport.
    /// </param>
    /// <param name="map">Maps more endpoints after the relay's (e.g. <c>MapPeerRelayAdmin</c>).</param>
    /// <returns>The started server.</returns>
    public static async Task<RelayTestServer> StartAsync(
        Action<RelayServerOptions>? configure = null,
        Action<IPeerRelayBuilder>? relay = null,
        Action<WebApplicationBuilder>? host = null,
        int port = 0,
        bool connectionMiddleware = true,
        bool relaySockets = true,
        Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var epoll = relaySockets && TestTransport.IsEpoll;
        if (epoll)
        {
            builder.WebHost.UseRelayEpoll();
        }
        else if (relaySockets)
        {
            builder.WebHost.UseRelaySockets();
        }

        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port, l =>
        {
            if (connectionMiddleware)
            {
                l.UsePeerRelay();
                if (epoll)
                {
                    var options = new RelayServerOptions();
                    configure?.Invoke(options);
                    l.UseEventLoop(b => b.UsePeerRelayOnEventLoop(), options.HandshakeTimeout);
                }
            }
        }));
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (Environment.GetEnvironmentVariable("PEERRELAY_TEST_LOG") is { Length: > 0 } level)
        {
            // Debugging aid: PEERRELAY_TEST_LOG=Debug prints the server's log to the test output.
            builder.Logging.AddSimpleConsole().SetMinimumLevel(Enum.Parse<LogLevel>(level, ignoreCase: true));
        }
        var relayBuilder = builder.Services.AddPeerRelay(configure);
        relay?.Invoke(relayBuilder);
        host?.Invoke(builder);
        var app = builder.Build();
        app.UseWebSockets();
        app.MapPeerRelay();
        map?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var uri = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/");
        return new RelayTestServer(app, uri);
    }

    /// <summary>Stops the server gracefully (clients are closed with 1001).</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync();
        }
        catch (ObjectDisposedException)
        {
        }

        await _app.DisposeAsync();
    }
}
