using System.Buffers;
using System.Text;
using PeerRelay.Protocol;

namespace PeerRelay.Protocol.Tests;

/// <summary>Encoding writes what Python's json.dumps writes, so the relay's bytes equal the reference's.</summary>
public sealed class EncodingTests
{
    private static readonly Guid U1 = Guid.Parse("5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11");
    private static readonly Guid U2 = Guid.Parse("0b7f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d");

    [Fact]
    public void Strings_AreEscapedLikePythonEnsureAscii()
    {
        // json.dumps('q"b\\s\n\r\t\b\f\x01\x7fé😀') == '"q\\"b\\\\s\\n\\r\\t\\b\\f\\u0001\\u007f\\u00e9\\ud83d\\ude00"'
        var text = RelayCodec.EncodeToString(new RelayRegistration("q\"b\\s\n\r\t\b\f\u0001\u007fé😀", U1));
        Assert.Equal(
            """{"name": "q\"b\\s\n\r\t\b\f\u0001\u007f\u00e9\ud83d\ude00", "uuid": "5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11", "message_type": "relay_registration"}""",
            text);
    }

    [Fact]
    public void ErrorResponse_HasPythonShape()
    {
        Assert.Equal(
            """{"success": false, "message": "RelayServerError: bad", "error": true, "message_type": "relay_response"}""",
            RelayCodec.EncodeToString(new RelayResponse(false, "RelayServerError: bad", true)));
    }

    [Fact]
    public void WritePeerConnection_FromRawFrame_EqualsEncodeOfMessage()
    {
        var original = new PeerConnection(U1, "laptop ü", U2, "answer", "{\"sdp\": \"v=0\\r\\n\", \"type\": \"answer\"}", "oops");
        var bytes = RelayCodec.EncodeToUtf8Bytes(original);
        Assert.True(RelayCodec.TryDecode(bytes, out var frame, out _));
        var writer = new ArrayBufferWriter<byte>();
        RelayCodec.WritePeerConnection(writer, frame.SourceUuid, frame.SourceName, frame.PeerUuid, frame.DescriptionType, frame.Description, frame.ErrorText);
        Assert.Equal(Encoding.UTF8.GetString(bytes), Encoding.UTF8.GetString(writer.WrittenSpan));
        Assert.Equal(original, RelayCodec.Decode(writer.WrittenSpan));
    }

    [Fact]
    public void WritePeerConnection_SmallWriterSpans_StillWritesWholeMessage()
    {
        var original = new PeerConnection(U1, "a", U2, "offer", new string('x', 10_000));
        var bytes = RelayCodec.EncodeToUtf8Bytes(original);
        Assert.True(RelayCodec.TryDecode(bytes, out var frame, out _));
        var writer = new TinySpanWriter();
        RelayCodec.WritePeerConnection(writer, frame.SourceUuid, frame.SourceName, frame.PeerUuid, frame.DescriptionType, frame.Description, RawJsonString.Null);
        Assert.Equal(bytes, writer.Written.ToArray());
    }

    [Theory]
    [InlineData("short", "short")]
    [InlineData("", "")]
    public void FitReason_ShortReason_Unchanged(string reason, string expected) => Assert.Equal(expected, RelayCloseCodes.FitReason(reason));

    [Fact]
    public void FitReason_LongReason_CutTo123BytesOnCharBoundary()
    {
        var reason = "ForbiddenError: " + string.Concat(Enumerable.Repeat("ü", 200));
        var fitted = RelayCloseCodes.FitReason(reason);
        Assert.True(Encoding.UTF8.GetByteCount(fitted) <= RelayCloseCodes.MaxReasonBytes);
        Assert.EndsWith("...", fitted, StringComparison.Ordinal);
        Assert.StartsWith("ForbiddenError: üü", fitted, StringComparison.Ordinal);
    }

    [Fact]
    public void ProtocolReasons_FitInACloseFrame()
    {
        foreach (var reason in new[]
        {
            RelayCloseCodes.DuplicateRegistrationReason, RelayCloseCodes.NotRegisteredReason,
            RelayCloseCodes.UnknownMessageReason, RelayCloseCodes.MessageTooLargeReason,
        })
        {
            Assert.True(Encoding.UTF8.GetByteCount(reason) <= RelayCloseCodes.MaxReasonBytes, reason);
        }
    }

    /// <summary>A writer that hands out tiny spans, to exercise the chunked path.</summary>
    internal sealed class TinySpanWriter : IBufferWriter<byte>
    {
        private readonly MemoryStream _stream = new();
        private byte[] _current = new byte[7];

        public ReadOnlySpan<byte> Written => _stream.ToArray();

        public void Advance(int count) => _stream.Write(_current, 0, count);

        public Memory<byte> GetMemory(int sizeHint = 0) => _current = new byte[Math.Max(7, Math.Min(sizeHint, 64))];

        public Span<byte> GetSpan(int sizeHint = 0) => _current = new byte[Math.Max(7, Math.Min(sizeHint, 64))];
    }
}
