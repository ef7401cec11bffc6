using System.Net.WebSockets;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerRelay.Server;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Hosting;
using PeerRelay.Server.Internal;

namespace PeerRelay.Benchmarks;

/// <summary>
/// The relay's route-and-enqueue step without sockets: <see cref="RelayRouter.HandleAsync"/> decodes a
/// <c>peer_connection</c> read by one connection, looks up its target, re-encodes it into a pooled buffer and queues it
/// on the target's send queue. The benchmark then takes the message off the queue (as the send loop would) and
/// returns its buffer.
/// </summary>
[MemoryDiagnoser]
public class RouterBenchmarks
{
    private ServiceProvider _services = null!;
    private RelayRouter _router = null!;
    private RelayConnection _source = null!;
    private RelayConnection _target = null!;
    private byte[] _message = [];

    [Params(200, 4096)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // The relay's own services, as AddPeerRelay registers them; no host, no Kestrel. The rate limit is off: the
        // benchmark sends far more than 50 messages per second from one connection.
        _services = new ServiceCollection().AddLogging().AddPeerRelay(o => o.MessageRate = 0).Services.BuildServiceProvider();
        _router = _services.GetRequiredService<RelayRouter>();
        var options = _services.GetRequiredService<IOptions<RelayServerOptions>>().Value;
        _source = Connect(options, Messages.Source);
        _target = Connect(options, Messages.Peer);
        _message = Messages.PeerConnection(Size, Messages.Source, Messages.Peer);
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true)]
    public Guid DecodeOnly()
    {
        PeerRelay.Protocol.RelayCodec.TryDecode(_message, out var frame, out _);
        return frame.PeerUuid;
    }

    [Benchmark]
    public int RouteAndEnqueue()
    {
        Completed(_router.HandleAsync(_source, _message, _message.Length));
        if (!_target.TryTakeQueued(out var queued))
        {
            throw new InvalidOperationException("nothing was queued");
        }

        var length = queued.Length;
        queued.Return();
        return length;
    }

    /// <summary>Forwarding never waits, and neither does registering with no authentication.</summary>
    private static void Completed(ValueTask pending)
    {
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the router did not complete synchronously");
        }
    }

    private RelayConnection Connect(RelayServerOptions options, Guid uuid)
    {
        // A real WebSocket over an in-memory stream; its loops never run, so nothing is read or written.
        var socket = WebSocket.CreateFromStream(new MemoryStream(), new WebSocketCreationOptions { IsServer = true });
        var handshake = new RelayHandshake(new HeaderDictionary(), QueryCollection.Empty, null);
        var connection = new RelayConnection(socket, handshake, "bench", _router, options, NullLogger.Instance);
        _router.OnOpened(connection);
        var registration = Messages.Registration(uuid);
        Completed(_router.HandleAsync(connection, registration, registration.Length));
        if (!connection.TryTakeQueued(out var response))
        {
            throw new InvalidOperationException("registration was not answered");
        }

        response.Return();
        return connection;
    }
}
