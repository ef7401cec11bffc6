using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// Commands encoded as RESP2 arrays of bulk strings into one pooled, growing buffer (a batch written with one send).
/// Pure: no I/O. Not thread-safe: one writer at a time.
/// </summary>
internal sealed class RespBuffer : IDisposable
{
    private byte[] _buffer;
    private int _count;

    public RespBuffer(int initialSize = 4096) => _buffer = ArrayPool<byte>.Shared.Rent(initialSize);

    /// <summary>Gets the bytes written since the last <see cref="Clear"/>.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _count);

    /// <summary>Gets the number of bytes written since the last <see cref="Clear"/>.</summary>
    public int Count => _count;

    public void Clear() => _count = 0;

    /// <summary>Starts a command of <paramref name="parts"/> parts (the command's name is one).</summary>
    public void WriteArray(int parts) => WriteHeader((byte)'*', parts);

    /// <summary>Appends bytes as they are (already encoded).</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        _count += bytes.Length;
    }

    public void WriteBulk(ReadOnlySpan<byte> value)
    {
        WriteHeader((byte)'$', value.Length);
        var span = Reserve(value.Length + 2);
        value.CopyTo(span);
        "\r\n"u8.CopyTo(span[value.Length..]);
        _count += value.Length + 2;
    }

    public void WriteBulk(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteHeader((byte)'$', length);
        var span = Reserve(length + 2);
        Encoding.UTF8.GetBytes(value, span);
        "\r\n"u8.CopyTo(span[length..]);
        _count += length + 2;
    }

    public void WriteBulk(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var length);
        WriteBulk(digits[..length]);
    }

    /// <summary>Reserves <paramref name="length"/> bytes of a bulk string written in place; then <see cref="EndBulk"/>.</summary>
    public Span<byte> StartBulk(int length)
    {
        WriteHeader((byte)'$', length);
        return Reserve(length + 2)[..length];
    }

    /// <summary>Ends a bulk string started with <see cref="StartBulk"/>.</summary>
    public void EndBulk(int length)
    {
        "\r\n"u8.CopyTo(_buffer.AsSpan(_count + length));
        _count += length + 2;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _count = 0;
    }

    private void WriteHeader(byte kind, int value)
    {
        var span = Reserve(13);
        span[0] = kind;
        Utf8Formatter.TryFormat(value, span[1..], out var length);
        span[1 + length] = (byte)'\r';
        span[2 + length] = (byte)'\n';
        _count += 3 + length;
    }

    private Span<byte> Reserve(int length)
    {
        if (_buffer.Length - _count < length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _count + length));
            _buffer.AsSpan(0, _count).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        return _buffer.AsSpan(_count);
    }
}
