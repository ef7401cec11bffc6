using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerRelay.Testing;
using PeerRelay.Transport.Internal;

namespace PeerRelay.Transport.Tests;

public sealed class KestrelTransportTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Kestrel_OnTheTransport_ServesHttp1KeepAliveAndLargeBodies(bool epoll)
    {
        await using var app = await StartAsync(epoll);
        using var client = new HttpClient { BaseAddress = BaseAddress(app) };

        // Several requests on one kept-alive connection, one with a body larger than the kernel's socket buffers.
        Assert.Equal("pong", await client.GetStringAsync(new Uri("/ping", UriKind.Relative)).WithTimeout());
        var large = await client.GetByteArrayAsync(new Uri("/large", UriKind.Relative)).WithTimeout();
        Assert.Equal(LargeBody(), large);
        Assert.Equal("pong", await client.GetStringAsync(new Uri("/ping", UriKind.Relative)).WithTimeout());
        var connectionIds = app.Services.GetRequiredService<ConnectionIds>();
        Assert.Single(connectionIds.Seen.Distinct());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Kestrel_OnTheTransport_SeesTheClientsAddress(bool epoll)
    {
        await using var app = await StartAsync(epoll);
        using var client = new HttpClient { BaseAddress = BaseAddress(app) };
        Assert.Equal("127.0.0.1", await client.GetStringAsync(new Uri("/remote", UriKind.Relative)).WithTimeout());
    }

    [Fact]
    public async Task Bind_PortInUse_FailsWithAddressInUse()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen(1);
        var factory = new RelaySocketTransportFactory(Microsoft.Extensions.Options.Options.Create(new RelaySocketTransportOptions()), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, new TransportMetrics(MeterFactory()));
        await Assert.ThrowsAsync<AddressInUseException>(() => factory.BindAsync(taken.LocalEndPoint!).AsTask());
        Assert.False(factory.CanBind(new UnixDomainSocketEndPoint("/tmp/x.sock")));
    }

    [Fact]
    public async Task Connection_IsItsOwnFeatureCollection_AndKeepsFeaturesOthersSet()
    {
        using var pair = await SocketPair.ConnectAsync();
        await using var connection = new RelaySocketConnection(pair.Server, 4096, TimeSpan.FromSeconds(2));
        var features = connection.Features;
        Assert.Same(connection, features.Get<IConnectionTransportFeature>());
        Assert.Same(connection.Transport, features.Get<IConnectionTransportFeature>()!.Transport);
        Assert.Equal(pair.Client.LocalEndPoint, connection.RemoteEndPoint);
        Assert.Equal(pair.Client.RemoteEndPoint, connection.LocalEndPoint);
        Assert.Equal(13, connection.ConnectionId.Length);

        var marker = new MarkerFeature();
        features.Set<IMarkerFeature>(marker);
        Assert.Same(marker, features.Get<IMarkerFeature>());
        Assert.Contains(features, f => f.Key == typeof(IMarkerFeature));
        features.Set<IMarkerFeature>(null);
        Assert.Null(features.Get<IMarkerFeature>());

        var closed = connection.ConnectionClosed;
        connection.Abort();
        Assert.True(closed.IsCancellationRequested);
    }

    [Fact]
    public async Task Dispose_WithBytesUnread_SendsFinAndDrains_SoThePeerGetsTheLastWordAndNoReset()
    {
        // A peer still sending (e.g. the rest of a message too large) when the application is done: closing at once
        // would reset the connection under the peer's send. The connection lingers and discards instead.
        using var pair = await SocketPair.ConnectAsync();
        var meters = MeterFactory();
        using var lingering = new MetricRecorder(meters, TransportMetrics.MeterName, "peerrelay.transport.lingering_closes");
        var connection = new RelaySocketConnection(pair.Server, 4096, TimeSpan.FromSeconds(10), new TransportMetrics(meters));
        var payload = new byte[1 << 20]; // The rest of a message at the default transport limit: within the linger's bytes.
        var sending = pair.Client.SendAsync(payload);
        var first = await connection.Transport.Input.ReadAsync().AsTask().WithTimeout();
        connection.Transport.Input.AdvanceTo(first.Buffer.GetPosition(1)); // Read one byte, leave the rest.
        "bye"u8.CopyTo(connection.Transport.Output.GetSpan(3));
        connection.Transport.Output.Advance(3);
        await connection.Transport.Output.FlushAsync().AsTask().WithTimeout();
        var disposing = connection.DisposeAsync().AsTask();

        Assert.Equal(payload.Length, await sending.WithTimeout()); // Every byte accepted: no reset under the send.
        Assert.Equal("bye"u8.ToArray(), await pair.ClientReceiveAsync(3).WithTimeout());
        Assert.Equal(0, await pair.Client.ReceiveAsync(new byte[1]).WithTimeout()); // Then FIN.
        pair.Client.Shutdown(SocketShutdown.Send);
        await disposing.WithTimeout(); // The peer closed: the linger ends before its time-out.
        Assert.Equal(1, lingering.Count("outcome", "peer_closed")); // The discarded bytes are counted.
    }

    [Fact]
    public async Task Dispose_WhileThePeerFloods_DiscardsAtMostTheLingerBytes_ThenResets()
    {
        // A flooder cut by the application: the linger stops reading after its byte budget and resets the connection,
        // long before its time-out (ten minutes here: a linger that waited for it would fail the test's time-out).
        using var pair = await SocketPair.ConnectAsync();
        var meters = MeterFactory();
        using var lingering = new MetricRecorder(meters, TransportMetrics.MeterName, "peerrelay.transport.lingering_closes");
        var connection = new RelaySocketConnection(pair.Server, 4096, TimeSpan.FromMinutes(10), new TransportMetrics(meters), lingerMaxBytes: 64 << 10);
        using var stop = new CancellationTokenSource();
        var flooding = Task.Run(async () =>
        {
            var chunk = new byte[16384];
            long sent = 0;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    sent += await pair.Client.SendAsync(chunk);
                }
            }
            catch (SocketException ex)
            {
                return (sent, ex.SocketErrorCode);
            }

            return (sent, SocketError.Success);
        });
        var first = await connection.Transport.Input.ReadAsync().AsTask().WithTimeout();
        connection.Transport.Input.AdvanceTo(first.Buffer.GetPosition(1));

        await connection.DisposeAsync().AsTask().WithTimeout();
        var (sentBytes, error) = await flooding.WithTimeout();

        Assert.Equal(1, lingering.Count("outcome", "over_bytes"));
        Assert.True(error is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted, $"the flooder's send ended with {error} after {sentBytes} bytes");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AbortRacingReadsAndFlushes_EndsThemWithIOExceptionOrCompletion_NeverAnythingElse(bool epoll)
    {
        // An abort (another thread closing the socket) racing a receive and a send: every outcome is a result, an
        // IOException or a completed flush; an ObjectDisposedException out of a socket callback would end the process.
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.Zero);
        for (var i = 0; i < 200; i++)
        {
            var (client, connection) = await accepted.ConnectAsync();
            using var _ = client;
            var read = connection.Transport.Input.ReadAsync().AsTask();
            var sent = client.SendAsync(new byte[64]);
            var write = Task.Run(async () =>
            {
                for (var j = 0; j < 50; j++)
                {
                    connection.Transport.Output.GetSpan(64)[..64].Clear();
                    connection.Transport.Output.Advance(64);
                    if ((await connection.Transport.Output.FlushAsync()).IsCompleted)
                    {
                        return;
                    }
                }
            });
            var abort = Task.Run(() => connection.Abort());

            await abort.WithTimeout();
            await sent.WithTimeout();
            try
            {
                await read.WithTimeout();
            }
            catch (IOException)
            {
            }

            try
            {
                await write.WithTimeout();
            }
            catch (IOException)
            {
            }

            await connection.DisposeAsync();
        }
    }

    internal static System.Diagnostics.Metrics.IMeterFactory MeterFactory() =>
        new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();

    private static byte[] LargeBody()
    {
        var body = new byte[3 << 20];
        new Random(7).NextBytes(body);
        return body;
    }

    private static Uri BaseAddress(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private static async Task<WebApplication> StartAsync(bool epoll)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (epoll)
        {
            builder.WebHost.UseRelayEpoll();
        }
        else
        {
            builder.WebHost.UseRelaySockets();
        }

        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<ConnectionIds>();
        var app = builder.Build();
        var ids = app.Services.GetRequiredService<ConnectionIds>();
        app.Use((context, next) =>
        {
            ids.Seen.Add(context.Connection.Id);
            return next(context);
        });
        app.MapGet("/ping", () => "pong");
        app.MapGet("/remote", (HttpContext context) => context.Connection.RemoteIpAddress!.ToString());
        var body = LargeBody();
        app.MapGet("/large", () => Results.Bytes(body));
        await app.StartAsync();
        return app;
    }

    private sealed class ConnectionIds
    {
        public System.Collections.Concurrent.ConcurrentBag<string> Seen { get; } = [];
    }

    private interface IMarkerFeature;

    private sealed class MarkerFeature : IMarkerFeature;
}
