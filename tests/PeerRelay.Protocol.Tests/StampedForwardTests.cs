using System.Buffers;
using System.Text;
using PeerRelay.Protocol;

namespace PeerRelay.Protocol.Tests;

/// <summary>
/// The relay's forwarding fast path (<see cref="RelayCodec.TryMatchPeerConnection"/> and
/// <see cref="RelayCodec.WriteStampedPeerConnection"/>): whatever it accepts, the decoder accepts with the same target,
/// and it writes exactly the bytes the decoder and <see cref="RelayCodec.WritePeerConnection"/> write for the sender's
/// identity; whatever it does not accept is left to the decoder (which gives the same answer as before).
/// </summary>
public sealed class StampedForwardTests
{
    private const string U1 = DecodingRuleTests.U1;
    private const string U2 = DecodingRuleTests.U2;
    private static readonly Guid Sender = Guid.Parse("9a8b7c6d-5e4f-4321-8765-0123456789ab");
    private static readonly byte[] SenderName = RelayCodec.EscapeString("réal \"sender\"");

    /// <summary>Messages in the reference client's layout: the fast path takes them.</summary>
    public static TheoryData<string, string> Canonical => new()
    {
        { "reference example", $$"""{"source_uuid": "{{U1}}", "source_name": "laptop", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "{\"sdp\": \"v=0...\", \"type\": \"offer\"}", "error": null, "message_type": "peer_connection"}""" },
        { "forged source", $$"""{"source_uuid": "{{U2}}", "source_name": "someone-else", "peer_uuid": "{{U2}}", "description_type": "answer", "description": "x", "error": null, "message_type": "peer_connection"}""" },
        { "upper-case source_uuid", $$"""{"source_uuid": "{{U1.ToUpperInvariant()}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "every escape", $$"""{"source_uuid": "{{U1}}", "source_name": "n\"\\\/\b\f\n\r\t\u00e9", "peer_uuid": "{{U2}}", "description_type": "candidate", "description": "\u0000 \ud83d\ude00 \\\" \"\\", "error": null, "message_type": "peer_connection"}""" },
        { "lone surrogate escape", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "a\ud800b\uDFFF", "error": null, "message_type": "peer_connection"}""" },
        { "raw UTF-8", $$"""{"source_uuid": "{{U1}}", "source_name": "é", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "😀 ü \u007f", "error": null, "message_type": "peer_connection"}""" },
        { "error text", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": "Cannot forward \"x\"", "message_type": "peer_connection"}""" },
        { "empty strings", $$"""{"source_uuid": "{{U1}}", "source_name": "", "peer_uuid": "{{U2}}", "description_type": "", "description": "", "error": "", "message_type": "peer_connection"}""" },
        { "key-like text inside strings", $$"""{"source_uuid": "{{U1}}", "source_name": "\", \"peer_uuid\": \"{{U1}}", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "\", \"error\": null, \"message_type\": \"peer_connection\"}", "error": null, "message_type": "peer_connection"}""" },
    };

    /// <summary>Valid messages in another layout, and invalid ones: the fast path leaves them to the decoder.</summary>
    public static TheoryData<string, string> NotCanonical => new()
    {
        { "compact (JSON.stringify)", $$"""{"source_uuid":"{{U1}}","source_name":"a","peer_uuid":"{{U2}}","description_type":"offer","description":"d","error":null,"message_type":"peer_connection"}""" },
        { "other key order", $$"""{"source_name": "a", "source_uuid": "{{U1}}", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "error omitted", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "message_type": "peer_connection"}""" },
        { "upper-case peer_uuid", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2.ToUpperInvariant()}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "peer_uuid in braces", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{{U2}}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "peer_uuid without hyphens", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2.Replace("-", "", StringComparison.Ordinal)}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "source_uuid urn", $$"""{"source_uuid": "urn:uuid:{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "white space after the object", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"} """ },
        { "escaped key", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_\u0075uid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "invalid source_uuid", $$"""{"source_uuid": "5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a1g", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "invalid peer_uuid", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "0b7f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2-", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "raw control character", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "line{{"\n"}}break", "error": null, "message_type": "peer_connection"}""" },
        { "bad escape", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "\x41", "error": null, "message_type": "peer_connection"}""" },
        { "short unicode escape", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "\u00g0", "error": null, "message_type": "peer_connection"}""" },
        { "unterminated string", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d, "error": null, "message_type": "peer_connection"}""" },
        { "error not a string", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": false, "message_type": "peer_connection"}""" },
        { "description not a string", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": 5, "error": null, "message_type": "peer_connection"}""" },
        { "extra key", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "extra": 1, "message_type": "peer_connection"}""" },
        { "another message_type", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "message_type": "relay_response"}""" },
        { "two objects", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""" },
        { "just the ends", """{"source_uuid": ", "message_type": "peer_connection"}""" },
        { "empty", "" },
    };

    [Theory]
    [MemberData(nameof(Canonical))]
    public void Canonical_Matched_StampedBytesEqualTheDecodersReencoding(string why, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.True(RelayCodec.TryMatchPeerConnection(bytes, out var peer, out var tail), why);
        Assert.True(RelayCodec.TryDecode(bytes, out var frame, out var error), error);
        Assert.Equal(frame.PeerUuid, peer);
        Assert.Equal(Reencoded(frame), Stamped(tail));
    }

    [Fact]
    public void ForgedSource_IsStampedOver()
    {
        var forged = $$"""{"source_uuid": "{{U1}}", "source_name": "admin", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "sdp", "error": null, "message_type": "peer_connection"}""";
        Assert.True(RelayCodec.TryMatchPeerConnection(Encoding.UTF8.GetBytes(forged), out _, out var tail));
        Assert.Equal(
            $$"""{"source_uuid": "{{Sender}}", "source_name": "r\u00e9al \"sender\"", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "sdp", "error": null, "message_type": "peer_connection"}""",
            Encoding.UTF8.GetString(Stamped(tail)));
    }

    [Theory]
    [MemberData(nameof(NotCanonical))]
    public void NotCanonical_NotMatched(string why, string json)
    {
        Assert.False(RelayCodec.TryMatchPeerConnection(Encoding.UTF8.GetBytes(json), out _, out _), why);
    }

    [Fact]
    public void InvalidUtf8_NotMatched_AndStillRefusedByTheDecoder()
    {
        var bytes = Encoding.UTF8.GetBytes($$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "XY", "error": null, "message_type": "peer_connection"}""");
        var at = Array.IndexOf(bytes, (byte)'X');
        bytes[at] = 0xC3; // A lead byte followed by 'Y': not UTF-8.
        Assert.False(RelayCodec.TryMatchPeerConnection(bytes, out _, out _));
        Assert.False(RelayCodec.TryDecode(bytes, out _, out var error));
        Assert.Equal("the message is not valid UTF-8", error);
    }

    /// <summary>
    /// Every single-byte change of a canonical message (each position, a set of replacement bytes that matter to
    /// JSON): whenever the fast path accepts one, the decoder accepts it with the same target and the same output; and
    /// on valid UTF-8 the relay's matcher (no UTF-8 check of its own) answers as the public one.
    /// </summary>
    [Fact]
    public void Mutations_FastPathNeverDisagreesWithTheDecoder()
    {
        var original = Encoding.UTF8.GetBytes($$"""{"source_uuid": "{{U1}}", "source_name": "a\"b", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "x\\y\u00e9z", "error": "e", "message_type": "peer_connection"}""");
        byte[] replacements = [(byte)'"', (byte)'\\', (byte)' ', (byte)',', (byte)':', (byte)'{', (byte)'}', (byte)'u', (byte)'n', (byte)'0', (byte)'a', (byte)'A', (byte)'g', (byte)'-', 0x01, 0x7F, 0xC3, 0xFF];
        var matched = 0;
        for (var position = 0; position < original.Length; position++)
        {
            foreach (var replacement in replacements)
            {
                var bytes = (byte[])original.Clone();
                bytes[position] = replacement;
                foreach (var input in new[] { bytes, Without(bytes, position) })
                {
                    var isMatch = RelayCodec.TryMatchPeerConnection(input, out var peer, out var tail);
                    if (System.Text.Unicode.Utf8.IsValid(input))
                    {
                        // The relay's matcher skips the UTF-8 check its frame reader made: the same answer on valid input.
                        Assert.Equal(isMatch, PeerRelay.Protocol.Internal.CanonicalPeerConnection.TryMatch(input, knownValidUtf8: true, out _, out _));
                    }

                    if (!isMatch)
                    {
                        continue;
                    }

                    matched++;
                    var text = Encoding.UTF8.GetString(input);
                    Assert.True(RelayCodec.TryDecode(input, out var frame, out var error), $"{text}: {error}");
                    Assert.Equal(frame.PeerUuid, peer);
                    Assert.Equal(Encoding.UTF8.GetString(Reencoded(frame)), Encoding.UTF8.GetString(Stamped(tail)));
                }
            }
        }

        Assert.True(matched > 100, $"only {matched} mutations matched"); // The comparison ran on many inputs.
    }

    [Fact]
    public void WriteStamped_SmallWriterSpans_StillWritesWholeMessage()
    {
        var json = RelayCodec.EncodeToUtf8Bytes(new PeerConnection(Guid.Parse(U1), "a", Guid.Parse(U2), "offer", new string('x', 10_000)));
        Assert.True(RelayCodec.TryMatchPeerConnection(json, out _, out var tail));
        Assert.True(RelayCodec.TryDecode(json, out var frame, out _));
        var writer = new EncodingTests.TinySpanWriter();
        RelayCodec.WriteStampedPeerConnection(writer, Sender, SenderName, tail);
        Assert.Equal(Reencoded(frame), writer.Written.ToArray());
    }

    [Fact]
    public void WriteStamped_NotATail_Throws()
    {
        Assert.Throws<ArgumentException>(() => RelayCodec.WriteStampedPeerConnection(new ArrayBufferWriter<byte>(), Sender, SenderName, "{}"u8));
    }

    private static byte[] Without(byte[] bytes, int position) => [.. bytes[..position], .. bytes[(position + 1)..]];

    private static byte[] Reencoded(RelayFrame frame)
    {
        var writer = new ArrayBufferWriter<byte>();
        RelayCodec.WritePeerConnection(
            writer, Sender, new RawJsonString(SenderName, hasEscapes: true), frame.PeerUuid, frame.DescriptionType, frame.Description, frame.ErrorText);
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] Stamped(ReadOnlySpan<byte> tail)
    {
        var writer = new ArrayBufferWriter<byte>();
        RelayCodec.WriteStampedPeerConnection(writer, Sender, SenderName, tail);
        return writer.WrittenSpan.ToArray();
    }
}
