using System.Buffers.Text;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// One RESP2 reply or push of a subscribed connection (<see cref="NodeChannelListener"/>): a simple string, an error, an
/// integer, a bulk string, or an array of up to three of those (<c>message</c>, channel, payload). Pure: bytes in, the
/// elements' places out; nothing is copied.
/// </summary>
internal readonly struct RespFrame
{
    private const int MaxElements = 3;

    private readonly (int Offset, int Length) _e0;
    private readonly (int Offset, int Length) _e1;
    private readonly (int Offset, int Length) _e2;

    private RespFrame(int count, bool isError, (int, int) e0, (int, int) e1, (int, int) e2)
    {
        Count = count;
        IsError = isError;
        _e0 = e0;
        _e1 = e1;
        _e2 = e2;
    }

    /// <summary>Gets the number of elements (1 for a reply that is not an array).</summary>
    public int Count { get; }

    /// <summary>Gets a value indicating whether the reply is an error (<c>-ERR ...</c>); element 0 is its text.</summary>
    public bool IsError { get; }

    /// <summary>Gets element <paramref name="index"/> of the frame read from <paramref name="raw"/>.</summary>
    public ReadOnlySpan<byte> Element(ReadOnlySpan<byte> raw, int index)
    {
        var (offset, length) = index switch { 0 => _e0, 1 => _e1, 2 => _e2, _ => throw new ArgumentOutOfRangeException(nameof(index)) };
        return raw.Slice(offset, length);
    }

    /// <summary>Reads one complete frame from the start of <paramref name="buffer"/>.</summary>
    /// <returns>False when the buffer holds only part of a frame (read more); throws on bytes that are not RESP2.</returns>
    public static bool TryRead(ReadOnlySpan<byte> buffer, out RespFrame frame, out int consumed)
    {
        frame = default;
        consumed = 0;
        if (buffer.IsEmpty)
        {
            return false;
        }

        if (buffer[0] != (byte)'*')
        {
            if (!TryReadElement(buffer, 0, out var element, out var isError, out consumed))
            {
                return false;
            }

            frame = new RespFrame(1, isError, element, default, default);
            return true;
        }

        if (!TryReadLine(buffer, 1, out var count, out var position))
        {
            return false;
        }

        if (count < 0 || count > MaxElements)
        {
            throw new InvalidDataException($"Unexpected RESP array of {count} elements on a subscribed connection.");
        }

        Span<(int, int)> elements = stackalloc (int, int)[MaxElements];
        for (var i = 0; i < count; i++)
        {
            if (!TryReadElement(buffer, position, out elements[i], out _, out var next))
            {
                return false;
            }

            position = next;
        }

        frame = new RespFrame((int)count, isError: false, elements[0], elements[1], elements[2]);
        consumed = position;
        return true;
    }

    /// <summary>Reads a simple string, error, integer or bulk string at <paramref name="start"/>.</summary>
    private static bool TryReadElement(ReadOnlySpan<byte> buffer, int start, out (int Offset, int Length) element, out bool isError, out int next)
    {
        element = default;
        next = 0;
        isError = false;
        if (start >= buffer.Length)
        {
            return false;
        }

        switch (buffer[start])
        {
            case (byte)'$':
                if (!TryReadLine(buffer, start + 1, out var length, out var data))
                {
                    return false;
                }

                if (length < 0)
                {
                    element = (data, 0); // A null bulk string.
                    next = data;
                    return true;
                }

                if (buffer.Length < data + length + 2)
                {
                    return false;
                }

                element = (data, (int)length);
                next = data + (int)length + 2;
                return true;
            case (byte)'+' or (byte)'-' or (byte)':':
                var end = buffer[(start + 1)..].IndexOf("\r\n"u8);
                if (end < 0)
                {
                    return false;
                }

                isError = buffer[start] == (byte)'-';
                element = (start + 1, end);
                next = start + 1 + end + 2;
                return true;
            default:
                throw new InvalidDataException($"Unexpected RESP type '{(char)buffer[start]}' on a subscribed connection.");
        }
    }

    /// <summary>Reads the number that ends a header line (<c>*3\r\n</c>, <c>$5\r\n</c>); <paramref name="next"/> is after the line.</summary>
    private static bool TryReadLine(ReadOnlySpan<byte> buffer, int start, out long value, out int next)
    {
        value = 0;
        next = 0;
        var end = buffer[start..].IndexOf("\r\n"u8);
        if (end < 0)
        {
            return false;
        }

        if (!Utf8Parser.TryParse(buffer.Slice(start, end), out value, out var used) || used != end)
        {
            throw new InvalidDataException("A RESP header that is not a number on a subscribed connection.");
        }

        next = start + end + 2;
        return true;
    }
}
