using System.Buffers;
using System.Text.Unicode;

namespace PeerRelay.Protocol.Internal;

/// <summary>
/// Recognises a <c>peer_connection</c> laid out exactly as Python's <c>json.dumps</c> writes it, which is how the
/// reference client sends one and how the relay forwards one: keys in the order <c>source_uuid</c>,
/// <c>source_name</c>, <c>peer_uuid</c>, <c>description_type</c>, <c>description</c>, <c>error</c>,
/// <c>message_type</c>, its <c>", "</c> and <c>": "</c> separators, canonical UUIDs (<c>peer_uuid</c> in lower case),
/// and nothing after the object. Such a message is forwarded by splicing the sender's identity in front of its tail,
/// without decoding it. Anything else (other spacing, key order, escaped keys, white space after the object, ...) is not
/// recognised and goes through <see cref="RelayCodec.TryDecode"/>, which applies every rule.
/// </summary>
/// <remarks>
/// What this accepts, <see cref="RelayCodec.TryDecode"/> accepts too, with the same <c>peer_uuid</c>, and
/// <see cref="RelayCodec.WritePeerConnection"/> of the decoded frame with a sender's identity writes the same bytes as
/// <see cref="RelayCodec.WriteStampedPeerConnection(System.Span{byte}, Guid, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> of the tail (tests compare the two on many inputs).
/// </remarks>
internal static class CanonicalPeerConnection
{
    /// <summary>Bytes that end the plain run of a JSON string: the quote, the backslash, and control characters.</summary>
    private static readonly SearchValues<byte> StringSpecials = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
            (byte)'"', (byte)'\\']);

    public static ReadOnlySpan<byte> Head => "{\"source_uuid\": \""u8;

    public static ReadOnlySpan<byte> AfterSourceUuid => "\", \"source_name\": \""u8;

    /// <summary>What the tail starts with: the end of <c>source_name</c> and the <c>peer_uuid</c> key.</summary>
    public static ReadOnlySpan<byte> AfterSourceName => "\", \"peer_uuid\": \""u8;

    private static ReadOnlySpan<byte> AfterPeerUuid => "\", \"description_type\": \""u8;

    private static ReadOnlySpan<byte> AfterDescriptionType => "\", \"description\": \""u8;

    private static ReadOnlySpan<byte> AfterDescription => "\", \"error\": "u8;

    private static ReadOnlySpan<byte> ErrorNull => "null"u8;

    private static ReadOnlySpan<byte> End => ", \"message_type\": \"peer_connection\"}"u8;

    /// <summary>Matches <paramref name="utf8Json"/>; on success gives the target and the tail from <see cref="AfterSourceName"/> on.</summary>
    public static bool TryMatch(ReadOnlySpan<byte> utf8Json, out Guid peerUuid, out ReadOnlySpan<byte> tail) =>
        TryMatch(utf8Json, knownValidUtf8: false, out peerUuid, out tail);

    /// <summary>
    /// As <see cref="TryMatch(ReadOnlySpan{byte}, out Guid, out ReadOnlySpan{byte})"/>; with
    /// <paramref name="knownValidUtf8"/> the caller has checked that the bytes are UTF-8 (the relay's frame reader checks
    /// every text message), so they are not checked again.
    /// </summary>
    public static bool TryMatch(ReadOnlySpan<byte> utf8Json, bool knownValidUtf8, out Guid peerUuid, out ReadOnlySpan<byte> tail)
    {
        peerUuid = default;
        tail = default;
        var s = utf8Json;
        if (!s.StartsWith(Head) || !s.EndsWith(End))
        {
            return false;
        }

        var i = Head.Length;
        if (!TryHexUuid(s, i, lowerCaseOnly: false, out _))
        {
            return false;
        }

        i += 36;
        if (!Expect(s, ref i, AfterSourceUuid) || !SkipString(s, ref i))
        {
            return false;
        }

        var tailStart = i;
        if (!Expect(s, ref i, AfterSourceName) || !TryHexUuid(s, i, lowerCaseOnly: true, out peerUuid))
        {
            return false;
        }

        i += 36;
        if (!Expect(s, ref i, AfterPeerUuid) || !SkipString(s, ref i)
            || !Expect(s, ref i, AfterDescriptionType) || !SkipString(s, ref i)
            || !Expect(s, ref i, AfterDescription))
        {
            return false;
        }

        if (!Expect(s, ref i, ErrorNull))
        {
            if (i >= s.Length || s[i] != (byte)'"')
            {
                return false;
            }

            i++;
            if (!SkipString(s, ref i) || !Expect(s, ref i, "\""u8))
            {
                return false;
            }
        }

        // The end (checked first) must follow at once. UTF-8 is checked last (the decoder checks it first): what is not
        // this layout fails sooner on its structure.
        if (i != s.Length - End.Length || (!knownValidUtf8 && !Utf8.IsValid(s)))
        {
            return false;
        }

        tail = s[tailStart..];
        return true;
    }

    private static bool Expect(ReadOnlySpan<byte> s, ref int i, ReadOnlySpan<byte> literal)
    {
        if (!s[i..].StartsWith(literal))
        {
            return false;
        }

        i += literal.Length;
        return true;
    }

    /// <summary>
    /// Moves <paramref name="i"/> from the first byte of a JSON string's content to its closing quote. False for
    /// anything the JSON reader would reject (a control character, a bad escape). Surrogate escapes, paired or not,
    /// are valid JSON, and the decoder accepts them too (and copies them as they are).
    /// </summary>
    private static bool SkipString(ReadOnlySpan<byte> s, ref int i)
    {
        while (true)
        {
            var next = s[i..].IndexOfAny(StringSpecials);
            if (next < 0)
            {
                return false;
            }

            i += next;
            var c = s[i];
            if (c == (byte)'"')
            {
                return true;
            }

            if (c != (byte)'\\' || i + 1 >= s.Length)
            {
                return false; // A raw control character: the decoder rejects it with its own reason.
            }

            switch (s[i + 1])
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    i += 2;
                    break;
                case (byte)'u':
                    if (i + 6 > s.Length || !TryHex(s.Slice(i + 2, 4), lowerCaseOnly: false, out _))
                    {
                        return false;
                    }

                    i += 6;
                    break;
                default:
                    return false;
            }
        }
    }

    /// <summary>Parses the 8-4-4-4-12 form at <paramref name="at"/>, followed by the closing quote.</summary>
    private static bool TryHexUuid(ReadOnlySpan<byte> s, int at, bool lowerCaseOnly, out Guid value)
    {
        value = default;
        if (at + 37 > s.Length)
        {
            return false;
        }

        var u = s.Slice(at, 37);
        if (u[8] != (byte)'-' || u[13] != (byte)'-' || u[18] != (byte)'-' || u[23] != (byte)'-' || u[36] != (byte)'"'
            || !TryHex(u[..8], lowerCaseOnly, out var a) || !TryHex(u.Slice(9, 4), lowerCaseOnly, out var b)
            || !TryHex(u.Slice(14, 4), lowerCaseOnly, out var c) || !TryHex(u.Slice(19, 4), lowerCaseOnly, out var d)
            || !TryHex(u.Slice(24, 4), lowerCaseOnly, out var e) || !TryHex(u.Slice(28, 8), lowerCaseOnly, out var f))
        {
            return false;
        }

        value = new Guid(
            a,
            (ushort)b,
            (ushort)c,
            (byte)(d >> 8),
            (byte)d,
            (byte)(e >> 8),
            (byte)e,
            (byte)(f >> 24),
            (byte)(f >> 16),
            (byte)(f >> 8),
            (byte)f);
        return true;
    }

    private static bool TryHex(ReadOnlySpan<byte> digits, bool lowerCaseOnly, out uint value)
    {
        // One table look-up per digit: 0-15, 16 for an upper-case digit, 255 for anything else.
        var table = HexDigitValues;
        var limit = lowerCaseOnly ? 15u : 16u;
        value = 0;
        foreach (var c in digits)
        {
            uint digit = table[c];
            if (digit > limit)
            {
                return false;
            }

            value = (value << 4) | (digit == 16 ? (uint)(c - 'A' + 10) : digit);
        }

        return true;
    }

    private static ReadOnlySpan<byte> HexDigitValues =>
    [
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 255, 255, 255, 255, 255,
        255, 16, 16, 16, 16, 16, 16, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    ];
}
