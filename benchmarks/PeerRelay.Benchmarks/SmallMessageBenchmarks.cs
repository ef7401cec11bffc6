using System.Buffers;
using BenchmarkDotNet.Attributes;
using PeerRelay.Protocol;

namespace PeerRelay.Benchmarks;

/// <summary>Decoding and encoding <c>relay_registration</c> and <c>relay_response</c> (fixed, small sizes).</summary>
[MemoryDiagnoser]
public class SmallMessageBenchmarks
{
    private readonly ArrayBufferWriter<byte> _writer = new(1024);
    private readonly byte[] _registration = Messages.Registration(Messages.Source);
    private readonly RelayRegistration _registrationObject = new("laptop", Messages.Source);

    [Benchmark(Baseline = true)]
    public Guid DecodeRegistration()
    {
        RelayCodec.TryDecode(_registration, out var frame, out _);
        return frame.Uuid;
    }

    [Benchmark]
    public int EncodeRegistration()
    {
        _writer.ResetWrittenCount();
        RelayCodec.Encode(_registrationObject, _writer);
        return _writer.WrittenCount;
    }

    [Benchmark]
    public bool DecodeResponse()
    {
        RelayCodec.TryDecode(Messages.Response, out var frame, out _);
        return frame.Success;
    }

    /// <summary>The relay's answer to every registration.</summary>
    [Benchmark]
    public int EncodeResponse()
    {
        _writer.ResetWrittenCount();
        RelayCodec.WriteResponse(_writer, success: true, message: null, error: false);
        return _writer.WrittenCount;
    }
}
