using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerRelay.Testing;
using PeerRelay.Transport.Internal;
using PeerRelay.Transport.Internal.Epoll;

namespace PeerRelay.Transport.Tests;

/// <summary>A listener of either transport on 127.0.0.1 (as Kestrel binds it), and connections accepted from plain client sockets.</summary>
internal sealed class AcceptedConnections : IAsyncDisposable
{
    private readonly IConnectionListener _listener;
    private readonly IDisposable? _factory;

    private AcceptedConnections(IConnectionListener listener, IDisposable? factory)
    {
        _listener = listener;
        _factory = factory;
    }

    /// <summary>Listens with the epoll transport or the .NET-socket one; connections linger at most <paramref name="linger"/> when disposed.</summary>
    public static async Task<AcceptedConnections> StartAsync(bool epoll, TimeSpan linger, IPAddress? bindAddress = null)
    {
        var options = Options.Create(new RelaySocketTransportOptions { EventLoops = 1, CloseLingerTimeout = linger });
        var metrics = new TransportMetrics(KestrelTransportTests.MeterFactory());
        IConnectionListenerFactory factory = epoll
            ? new EpollTransportFactory(options, NullLoggerFactory.Instance, metrics, new EventLoopEndpoints(), new ServiceCollection().BuildServiceProvider())
            : new RelaySocketTransportFactory(options, NullLoggerFactory.Instance, metrics);
        var listener = await factory.BindAsync(new IPEndPoint(bindAddress ?? IPAddress.Loopback, 0));
        return new AcceptedConnections(listener, factory as IDisposable);
    }

    /// <summary>Connects a client (from <paramref name="clientAddress"/>'s loopback, IPv4 unless given) and accepts it.</summary>
    public async Task<(Socket Client, RelaySocketConnection Connection)> ConnectAsync(IPAddress? clientAddress = null)
    {
        var to = clientAddress ?? IPAddress.Loopback;
        var client = new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(to, ((IPEndPoint)_listener.EndPoint).Port)).WithTimeout();
        var connection = (RelaySocketConnection)(await _listener.AcceptAsync().AsTask().WithTimeout())!;
        return (client, connection);
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync();
        _factory?.Dispose();
    }
}
