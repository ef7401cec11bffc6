using System.Buffers;

namespace PeerRelay.Protocol.Internal;

/// <summary>
/// Small writers for the fixed shape of relay messages. Output matches Python's <c>json.dumps</c> defaults
/// (<c>", "</c> and <c>": "</c> separators, <c>ensure_ascii</c> escaping), so PeerRelay's bytes are the reference's.
/// </summary>
internal static class JsonOutput
{
    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    public static void Raw(IBufferWriter<byte> writer, scoped ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var span = writer.GetSpan(Math.Min(bytes.Length, 64 * 1024));
            var n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            writer.Advance(n);
            bytes = bytes[n..];
        }
    }

    public static void Guid(IBufferWriter<byte> writer, Guid value)
    {
        var span = writer.GetSpan(38);
        span[0] = (byte)'"';
        value.TryFormat(span[1..], out var written, "D");
        span[written + 1] = (byte)'"';
        writer.Advance(written + 2);
    }

    public static void Bool(IBufferWriter<byte> writer, bool value) => Raw(writer, value ? "true"u8 : "false"u8);

    /// <summary>Writes <paramref name="value"/> as a quoted JSON string, or <c>null</c>.</summary>
    public static void String(IBufferWriter<byte> writer, string? value)
    {
        if (value is null)
        {
            Raw(writer, "null"u8);
            return;
        }

        var length = EscapedLength(value);
        var span = writer.GetSpan(length + 2);
        span[0] = (byte)'"';
        Escape(value, span[1..]);
        span[length + 1] = (byte)'"';
        writer.Advance(length + 2);
    }

    /// <summary>Writes a value that is already escaped JSON string content, quoted, or <c>null</c>.</summary>
    public static void String(IBufferWriter<byte> writer, scoped RawJsonString value)
    {
        if (value.IsNull)
        {
            Raw(writer, "null"u8);
            return;
        }

        Raw(writer, "\""u8);
        Raw(writer, value.Escaped);
        Raw(writer, "\""u8);
    }

    /// <summary>Escapes <paramref name="value"/> into JSON string content (no quotes), as UTF-8 bytes.</summary>
    public static byte[] EscapeToArray(string value)
    {
        var bytes = new byte[EscapedLength(value)];
        Escape(value, bytes);
        return bytes;
    }

    public static int EscapedLength(ReadOnlySpan<char> value)
    {
        var length = 0;
        foreach (var c in value)
        {
            length += c switch
            {
                '"' or '\\' or '\n' or '\r' or '\t' or '\b' or '\f' => 2,
                < ' ' or > '~' => 6,
                _ => 1,
            };
        }

        return length;
    }

    private static void Escape(ReadOnlySpan<char> value, Span<byte> destination)
    {
        var i = 0;
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': destination[i++] = (byte)'\\'; destination[i++] = (byte)'"'; break;
                case '\\': destination[i++] = (byte)'\\'; destination[i++] = (byte)'\\'; break;
                case '\n': destination[i++] = (byte)'\\'; destination[i++] = (byte)'n'; break;
                case '\r': destination[i++] = (byte)'\\'; destination[i++] = (byte)'r'; break;
                case '\t': destination[i++] = (byte)'\\'; destination[i++] = (byte)'t'; break;
                case '\b': destination[i++] = (byte)'\\'; destination[i++] = (byte)'b'; break;
                case '\f': destination[i++] = (byte)'\\'; destination[i++] = (byte)'f'; break;
                case < ' ' or > '~':
                    destination[i++] = (byte)'\\';
                    destination[i++] = (byte)'u';
                    destination[i++] = HexDigits[(c >> 12) & 0xF];
                    destination[i++] = HexDigits[(c >> 8) & 0xF];
                    destination[i++] = HexDigits[(c >> 4) & 0xF];
                    destination[i++] = HexDigits[c & 0xF];
                    break;
                default: destination[i++] = (byte)c; break;
            }
        }
    }
}
