using System.Net;
using Microsoft.AspNetCore.Connections;

namespace PeerRelay.Transport;

/// <summary>
/// The endpoints whose connections the epoll transport (<see cref="RelaySocketTransportWebHostBuilderExtensions.UseRelayEpoll"/>)
/// runs on its event loop before Kestrel sees them (<see cref="RelayEventLoopListenOptionsExtensions.UseEventLoop"/>
/// adds one). Registered as a singleton by <c>UseRelayEpoll</c>.
/// </summary>
public sealed class EventLoopEndpoints
{
    private readonly Lock _lock = new();
    private readonly List<KeyValuePair<EndPoint, Pipeline>> _pipelines = [];

    /// <summary>
    /// Runs the connections of <paramref name="endpoint"/> (the very object Kestrel binds: <c>ListenOptions.EndPoint</c>)
    /// through the pipeline <paramref name="configure"/> builds, on the event loop, once a connection's first bytes have
    /// arrived or <paramref name="firstBytesTimeout"/> has passed without any. The pipeline's end hands a connection
    /// to Kestrel with what was read still unread, so the endpoint's own middleware and HTTP serve it.
    /// </summary>
    /// <param name="endpoint">The endpoint, as given to Kestrel.</param>
    /// <param name="configure">Adds the pipeline's middleware.</param>
    /// <param name="firstBytesTimeout">How long a connection may send nothing before the pipeline runs anyway.</param>
    public void Add(EndPoint endpoint, Action<IConnectionBuilder> configure, TimeSpan firstBytesTimeout)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(firstBytesTimeout, TimeSpan.Zero);
        lock (_lock)
        {
            _pipelines.RemoveAll(p => ReferenceEquals(p.Key, endpoint));
            _pipelines.Add(new KeyValuePair<EndPoint, Pipeline>(endpoint, new Pipeline(configure, firstBytesTimeout)));
        }
    }

    /// <summary>The pipeline of the endpoint Kestrel binds, if any.</summary>
    internal Pipeline? Find(EndPoint endpoint)
    {
        lock (_lock)
        {
            foreach (var pair in _pipelines)
            {
                if (ReferenceEquals(pair.Key, endpoint))
                {
                    return pair.Value;
                }
            }

            return null;
        }
    }

    /// <summary>An endpoint's event-loop pipeline.</summary>
    internal sealed record Pipeline(Action<IConnectionBuilder> Configure, TimeSpan FirstBytesTimeout);
}
