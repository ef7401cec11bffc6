using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using PeerRelay.Configuration;
using PeerRelay.Hosting;

namespace PeerRelay.Tests;

/// <summary>The command's own host (<see cref="RelayHostBuilder"/>), started in-process on 127.0.0.1 and a free port.</summary>
internal sealed class InProcessRelay : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessRelay(WebApplication app, Uri uri)
    {
        _app = app;
        Uri = uri;
    }

    public Uri Uri { get; }

    public static async Task<InProcessRelay> StartAsync(RelayConfig config)
    {
        config.Host ??= "127.0.0.1";
        config.Port = 0;
        if (config.SocketTransport == RelayConfig.DefaultSocketTransport)
        {
            // The suite's transport (PEERRELAY_TEST_TRANSPORT); a test that chose another keeps it.
            config.SocketTransport = PeerRelay.Testing.TestTransport.IsEpoll ? SocketTransportKind.Epoll : SocketTransportKind.Relay;
        }

        var app = RelayHostBuilder.Build(config, builder =>
        {
            // Keep the test output readable: the console log is the one thing left out.
            var console = builder.Services.Where(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider)).ToList();
            foreach (var descriptor in console)
            {
                builder.Services.Remove(descriptor);
            }
        });
        await app.StartAsync();
        return new InProcessRelay(app, RelayHostBuilder.GetListeningUri(app, config));
    }

    public static Task<InProcessRelay> StartAsync(string toml) => StartAsync(RelayConfigLoader.Parse(toml, "test.toml"));

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
