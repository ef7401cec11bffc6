using System.Buffers;
using BenchmarkDotNet.Attributes;
using PeerRelay.Protocol;

namespace PeerRelay.Benchmarks;

/// <summary>Decoding and encoding a <c>peer_connection</c> of 200 B and 4 KB: the relay's per-message codec work.</summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private readonly ArrayBufferWriter<byte> _writer = new(8192);
    private byte[] _message = [];
    private byte[] _descriptionType = [];
    private byte[] _description = [];
    private byte[] _name = [];
    private PeerConnection _object = null!;

    [Params(200, 4096)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _message = Messages.PeerConnection(Size, Messages.Source, Messages.Peer);
        if (!RelayCodec.TryDecode(_message, out var frame, out var error))
        {
            throw new InvalidOperationException(error);
        }

        _descriptionType = frame.DescriptionType.Escaped.ToArray();
        _description = frame.Description.Escaped.ToArray();
        _name = frame.SourceName.Escaped.ToArray();
        _object = (PeerConnection)frame.ToMessage();
    }

    /// <summary>What the relay does on every message: decode to a frame whose strings stay escaped.</summary>
    [Benchmark(Baseline = true)]
    public Guid DecodePeerConnection()
    {
        RelayCodec.TryDecode(_message, out var frame, out _);
        return frame.PeerUuid;
    }

    /// <summary>What the relay does to forward: re-encode from escaped strings.</summary>
    [Benchmark]
    public int EncodePeerConnection()
    {
        _writer.ResetWrittenCount();
        RelayCodec.WritePeerConnection(
            _writer,
            Messages.Source,
            new RawJsonString(_name, hasEscapes: false),
            Messages.Peer,
            new RawJsonString(_descriptionType, hasEscapes: false),
            new RawJsonString(_description, hasEscapes: true),
            RawJsonString.Null);
        return _writer.WrittenCount;
    }

    /// <summary>
    /// What the relay does to forward a message in the reference client's layout: check it without decoding, then write
    /// the sender's identity in front of its tail (instead of decode and re-encode).
    /// </summary>
    [Benchmark]
    public int MatchAndStampPeerConnection()
    {
        _writer.ResetWrittenCount();
        RelayCodec.TryMatchPeerConnection(_message, out _, out var tail);
        RelayCodec.WriteStampedPeerConnection(_writer, Messages.Source, _name, tail);
        return _writer.WrittenCount;
    }

    /// <summary>The object API (client side, tests): decode with every string unescaped.</summary>
    [Benchmark]
    public RelayMessage DecodePeerConnectionToObject() => RelayCodec.Decode(_message);

    /// <summary>The object API: encode a <see cref="PeerConnection"/>.</summary>
    [Benchmark]
    public int EncodePeerConnectionObject()
    {
        _writer.ResetWrittenCount();
        RelayCodec.Encode(_object, _writer);
        return _writer.WrittenCount;
    }
}
