using System.Buffers.Binary;
using System.Numerics;

namespace PeerRelay.Server.Internal.WebSockets;

/// <summary>
/// SHA-1 (FIPS 180-4) in managed code, for the <c>Sec-WebSocket-Accept</c> of every upgrade (RFC 6455 prescribes it;
/// nothing here depends on it for security). The platform's one-shot hash goes through OpenSSL on Linux, which for a
/// 60-byte input costs more in its context allocation, error queue and P/Invoke than in the hash (issue 17's connect
/// profile: about 2 % of a connection's CPU); two blocks here take well under a microsecond and allocate nothing.
/// </summary>
internal static class Sha1
{
    /// <summary>The hash's length in bytes.</summary>
    public const int HashLength = 20;

    /// <summary>Writes the SHA-1 of <paramref name="source"/> into the first <see cref="HashLength"/> bytes of <paramref name="destination"/>.</summary>
    public static void HashData(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, HashLength);
        var state = new State(0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0);
        Span<uint> schedule = stackalloc uint[80];
        var whole = source.Length & ~63;
        for (var at = 0; at < whole; at += 64)
        {
            Compress(ref state, source.Slice(at, 64), schedule);
        }

        // The rest, 0x80, zeros and the length in bits (big-endian) fill one or two last blocks.
        Span<byte> last = stackalloc byte[128];
        last.Clear();
        var rest = source[whole..];
        rest.CopyTo(last);
        last[rest.Length] = 0x80;
        var lastLength = rest.Length + 9 <= 64 ? 64 : 128;
        BinaryPrimitives.WriteUInt64BigEndian(last.Slice(lastLength - 8), (ulong)source.Length * 8);
        for (var at = 0; at < lastLength; at += 64)
        {
            Compress(ref state, last.Slice(at, 64), schedule);
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, state.A);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], state.B);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], state.C);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], state.D);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], state.E);
    }

    private static void Compress(ref State state, ReadOnlySpan<byte> block, Span<uint> w)
    {
        for (var t = 0; t < 16; t++)
        {
            w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
        }

        for (var t = 16; t < 80; t++)
        {
            w[t] = BitOperations.RotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        }

        var (a, b, c, d, e) = (state.A, state.B, state.C, state.D, state.E);
        for (var t = 0; t < 80; t++)
        {
            var f = t switch
            {
                < 20 => ((b & c) | (~b & d)) + 0x5A827999,
                < 40 => (b ^ c ^ d) + 0x6ED9EBA1,
                < 60 => ((b & c) | (b & d) | (c & d)) + 0x8F1BBCDC,
                _ => (b ^ c ^ d) + 0xCA62C1D6,
            };
            var next = BitOperations.RotateLeft(a, 5) + f + e + w[t];
            (e, d, c, b, a) = (d, c, BitOperations.RotateLeft(b, 30), a, next);
        }

        state = new State(state.A + a, state.B + b, state.C + c, state.D + d, state.E + e);
    }

    private readonly record struct State(uint A, uint B, uint C, uint D, uint E);
}
