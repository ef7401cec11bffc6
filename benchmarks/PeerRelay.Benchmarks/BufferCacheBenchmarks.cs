using System.Buffers;
using BenchmarkDotNet.Attributes;
using PeerRelay.Internal;

namespace PeerRelay.Benchmarks;

/// <summary>
/// The buffers one forwarded message rents and returns on the loop's thread, with their lifetimes overlapping as on the
/// message path: the receive buffer, the unmasked message, the stamped forward and the send buffer. The shared pool
/// against the relay's per-thread cache in front of it (PeerRelay.Transport's Internal/ThreadBufferCache.cs).
/// </summary>
[MemoryDiagnoser]
public class BufferCacheBenchmarks
{
    private interface IBuffers
    {
        static abstract byte[] Rent(int minimumLength);

        static abstract void Return(byte[] array);
    }

    [Benchmark(Baseline = true)]
    public int SharedPool() => OneForward<SharedPoolBuffers>();

    [Benchmark]
    public int ThreadCache() => OneForward<ThreadCacheBuffers>();

    // A struct type argument: the calls are specialised and inlined, as direct calls would be.
    private static int OneForward<TBuffers>()
        where TBuffers : struct, IBuffers
    {
        var receive = TBuffers.Rent(4096);
        var message = TBuffers.Rent(256);
        var stamped = TBuffers.Rent(300);
        var send = TBuffers.Rent(4096);
        var total = receive.Length + message.Length + stamped.Length + send.Length;
        TBuffers.Return(send);
        TBuffers.Return(stamped);
        TBuffers.Return(message);
        TBuffers.Return(receive);
        return total;
    }

    private readonly struct SharedPoolBuffers : IBuffers
    {
        public static byte[] Rent(int minimumLength) => ArrayPool<byte>.Shared.Rent(minimumLength);

        public static void Return(byte[] array) => ArrayPool<byte>.Shared.Return(array);
    }

    private readonly struct ThreadCacheBuffers : IBuffers
    {
        public static byte[] Rent(int minimumLength) => ThreadBufferCache.Rent(minimumLength);

        public static void Return(byte[] array) => ThreadBufferCache.Return(array);
    }
}
