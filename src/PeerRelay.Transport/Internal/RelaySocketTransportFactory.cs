using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerRelay.Transport.Internal;

/// <summary>Binds IP endpoints for Kestrel with <see cref="RelaySocketListener"/>.</summary>
internal sealed class RelaySocketTransportFactory(IOptions<RelaySocketTransportOptions> options, ILoggerFactory loggerFactory, TransportMetrics metrics)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly RelaySocketTransportOptions _options = options.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger("PeerRelay.Transport");

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint is not IPEndPoint ip)
        {
            throw new NotSupportedException($"The PeerRelay socket transport binds IP endpoints only, not {endpoint.GetType().Name}.");
        }

        var socket = Listen(ip, _options.Backlog);
        return ValueTask.FromResult<IConnectionListener>(new RelaySocketListener(socket, _options, _logger, metrics));
    }

    /// <summary>A socket bound to <paramref name="ip"/> (both IPv6 and IPv4 for <c>[::]</c>) and listening.</summary>
    internal static Socket Listen(IPEndPoint ip, int backlog)
    {
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ip.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(ip);
            socket.Listen(backlog);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(ex.Message, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }
}
