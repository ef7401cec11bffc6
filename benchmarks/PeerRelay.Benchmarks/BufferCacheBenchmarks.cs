using System.Buffers;
using BenchmarkDotNet.Attributes;
using PeerRelay.Internal;

namespace PeerRelay.Benchmarks;

/// <summary>
/// The buffers one forwarded message rents and returns on the loop's thread, with their lifetimes overlapping as on the
/// message path: the receive buffer, the unmasked message, the stamped forward and the send buffer. The shared pool
/// against the relay's per-thread cache in front of it (src/Shared/ThreadBufferCache.cs).
/// </summary>
[MemoryDiagnoser]
public class BufferCacheBenchmarks
{
    [Benchmark(Baseline = true)]
    public int SharedPool()
    {
        var pool = ArrayPool<byte>.Shared;
        var receive = pool.Rent(4096);
        var message = pool.Rent(256);
        var stamped = pool.Rent(300);
        var send = pool.Rent(4096);
        var total = receive.Length + message.Length + stamped.Length + send.Length;
        pool.Return(send);
        pool.Return(stamped);
        pool.Return(message);
        pool.Return(receive);
        return total;
    }

    [Benchmark]
    public int ThreadCache()
    {
        var receive = ThreadBufferCache.Rent(4096);
        var message = ThreadBufferCache.Rent(256);
        var stamped = ThreadBufferCache.Rent(300);
        var send = ThreadBufferCache.Rent(4096);
        var total = receive.Length + message.Length + stamped.Length + send.Length;
        ThreadBufferCache.Return(send);
        ThreadBufferCache.Return(stamped);
        ThreadBufferCache.Return(message);
        ThreadBufferCache.Return(receive);
        return total;
    }
}
