using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerRelay.Server;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Hosting;
using PeerRelay.Server.Internal;
using PeerRelay.Server.Prometheus;

namespace PeerRelay.Benchmarks;

/// <summary>
/// The relay's route-and-send step without sockets: <see cref="RelayRouter.HandleAsync"/> decodes a
/// <c>peer_connection</c> read by one connection, looks up its target, re-encodes it into a pooled buffer and writes it
/// as a WebSocket frame into the target's transport pipe (an in-memory <see cref="Pipe"/> here). The benchmark then
/// reads the frame off the pipe, as Kestrel's socket sender would.
/// </summary>
[MemoryDiagnoser]
public class RouterBenchmarks
{
    private ServiceProvider _services = null!;
    private RelayRouter _router = null!;
    private RelayConnection _source = null!;
    private RelayConnection _target = null!;
    private Pipe _targetOutput = null!;
    private byte[] _message = [];

    [Params(200, 4096)]
    public int Size { get; set; }

    /// <summary>
    /// Whether the metrics are exported as <c>peerrelay serve</c> exports them by default (the Prometheus bridge listens
    /// to every instrument), so that each measurement on the message path costs what it costs in the server.
    /// </summary>
    [Params(false, true)]
    public bool Prometheus { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // The relay's own services, as AddPeerRelay registers them; no host, no Kestrel. The rate limit is off: the
        // benchmark sends far more than 50 messages per second from one connection.
        var relay = new ServiceCollection().AddLogging().AddPeerRelay(o => o.MessageRate = 0);
        if (Prometheus)
        {
            relay.AddPrometheusMetrics();
        }

        _services = relay.Services.BuildServiceProvider();
        if (Prometheus)
        {
            _services.GetRequiredService<PeerRelay.Server.Prometheus.Internal.PrometheusMeterBridge>();
        }

        _router = _services.GetRequiredService<RelayRouter>();
        var options = _services.GetRequiredService<IOptions<RelayServerOptions>>().Value;
        (_source, _) = Connect(options, Messages.Source);
        (_target, _targetOutput) = Connect(options, Messages.Peer);
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
    public int RouteAndSend()
    {
        Completed(_router.HandleAsync(_source, _message));
        return TakeWritten(_targetOutput, "nothing was sent");
    }

    /// <summary>Forwarding never waits, and neither does registering with no authentication.</summary>
    private static void Completed(ValueTask pending)
    {
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the router did not complete synchronously");
        }
    }

    private static int TakeWritten(Pipe output, string problem)
    {
        if (!output.Reader.TryRead(out var read) || read.Buffer.IsEmpty)
        {
            throw new InvalidOperationException(problem);
        }

        var length = (int)read.Buffer.Length;
        output.Reader.AdvanceTo(read.Buffer.End);
        return length;
    }

    private (RelayConnection Connection, Pipe Output) Connect(RelayServerOptions options, Guid uuid)
    {
        // The connection's transport is a pair of in-memory pipes; its receive loop never runs.
        var output = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, pauseWriterThreshold: 0));
        var transport = new BenchTransport(new Pipe().Reader, output.Writer);
        var handshake = new RelayHandshake(new HeaderDictionary(), QueryCollection.Empty, null);
        var connection = new RelayConnection(transport, static () => { }, handshake, null, 0, new RelayConnectionServices(_router, options, NullLogger.Instance, null));
        _router.OnOpened(connection);
        var registration = Messages.Registration(uuid);
        Completed(_router.HandleAsync(connection, registration));
        TakeWritten(output, "registration was not answered");
        return (connection, output);
    }

    private sealed record BenchTransport(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
