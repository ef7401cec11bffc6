using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerRelay.Transport.Internal.Epoll;

/// <summary>
/// Binds IP endpoints for Kestrel with <see cref="EpollListener"/> on the transport's event loops (Linux), made at the
/// first bind: <see cref="RelaySocketTransportOptions.EventLoops"/>, one per processor the process may run on by default.
/// </summary>
internal sealed class EpollTransportFactory(
    IOptions<RelaySocketTransportOptions> options,
    ILoggerFactory loggerFactory,
    TransportMetrics metrics,
    EventLoopEndpoints endpoints,
    IServiceProvider services)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector, IDisposable
{
    private readonly RelaySocketTransportOptions _options = options.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger("PeerRelay.Transport");
    private readonly Lock _lock = new();
    private EpollLoop[]? _loops;

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint is not IPEndPoint ip)
        {
            throw new NotSupportedException($"The PeerRelay epoll transport binds IP endpoints only, not {endpoint.GetType().Name}.");
        }

        var socket = RelaySocketTransportFactory.Listen(ip, _options.Backlog);
        try
        {
            socket.Blocking = false; // accept4 on the loops; the runtime never waits on it.
            var pipeline = endpoints.Find(endpoint);
            return ValueTask.FromResult<IConnectionListener>(new EpollListener(socket, Loops(), _options, _logger, metrics, pipeline, services));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var loop in _loops ?? [])
            {
                loop.Dispose();
            }

            _loops = null;
        }
    }

    private EpollLoop[] Loops()
    {
        lock (_lock)
        {
            if (_loops is null)
            {
                var count = _options.EventLoops > 0 ? _options.EventLoops : Environment.ProcessorCount;
                _loops = new EpollLoop[count];
                for (var i = 0; i < count; i++)
                {
                    _loops[i] = new EpollLoop(i, _logger);
                }
            }

            return _loops;
        }
    }
}
