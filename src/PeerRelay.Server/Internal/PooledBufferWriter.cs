using System.Buffers;
using PeerRelay.Internal;

namespace PeerRelay.Server.Internal;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over one rented array that is handed off whole with <see cref="Detach"/>,
/// so an encoded message goes into a send queue without a copy. Not thread-safe: use the one of the current thread
/// (<see cref="ForCurrentThread"/>) between <see cref="Start"/> and <see cref="Detach"/>, never across an await.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>
{
    [ThreadStatic]
    private static PooledBufferWriter? t_current;

    private byte[] _buffer = [];
    private int _written;

    /// <summary>Gets this thread's writer, so that idle connections keep no encoder.</summary>
    public static PooledBufferWriter ForCurrentThread => t_current ??= new PooledBufferWriter();

    public void Start(int sizeHint)
    {
        _buffer = ThreadBufferCache.Rent(Math.Max(sizeHint, 256));
        _written = 0;
    }

    public OutboundMessage Detach()
    {
        var message = new OutboundMessage(_buffer, _written);
        _buffer = [];
        _written = 0;
        return message;
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }

        var bigger = ThreadBufferCache.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        if (_buffer.Length > 0)
        {
            ThreadBufferCache.Return(_buffer);
        }

        _buffer = bigger;
    }
}
