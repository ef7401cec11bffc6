namespace PeerRelay.Protocol.Internal;

/// <summary>
/// Parses a UUID the way Python's <c>uuid.UUID(str)</c> does, which is what the reference server accepts: optional
/// <c>urn:</c> and <c>uuid:</c> prefixes and braces are stripped, hyphens anywhere are ignored, and 32 hexadecimal
/// digits in any case must remain.
/// </summary>
internal static class PythonUuid
{
    public static bool TryParse(ReadOnlySpan<byte> utf8, out Guid value)
    {
        value = default;
        if (utf8.Length > 64)
        {
            return false;
        }

        Span<char> chars = stackalloc char[utf8.Length];
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] > 0x7F)
            {
                return false;
            }

            chars[i] = (char)utf8[i];
        }

        return TryParse(chars, out value);
    }

    public static bool TryParse(ReadOnlySpan<char> text, out Guid value)
    {
        value = default;

        // Fast path: the canonical 36-character form that every known client sends.
        if (text.Length == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-')
        {
            return Guid.TryParseExact(text, "D", out value);
        }

        // Python: hex = hex.replace('urn:', '').replace('uuid:', ''); hex = hex.strip('{}').replace('-', '')
        Span<char> hex = stackalloc char[32];
        var work = text.ToString().Replace("urn:", string.Empty, StringComparison.Ordinal)
            .Replace("uuid:", string.Empty, StringComparison.Ordinal)
            .AsSpan()
            .Trim("{}");
        var count = 0;
        foreach (var c in work)
        {
            if (c == '-')
            {
                continue;
            }

            if (!char.IsAsciiHexDigit(c) || count == 32)
            {
                return false;
            }

            hex[count++] = c;
        }

        return count == 32 && Guid.TryParseExact(hex, "N", out value);
    }
}
