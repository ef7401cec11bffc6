using System.Text;
using PeerRelay.Protocol;

namespace PeerRelay.Protocol.Tests;

/// <summary>Every decoding rule of PROTOCOL.md: each of these inputs must be refused.</summary>
public sealed class DecodingRuleTests
{
    internal const string U1 = "5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11";
    internal const string U2 = "0b7f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";

    public static TheoryData<string, string> Invalid => new()
    {
        { "not JSON", "hello" },
        { "truncated JSON", """{"name": "a", "uuid": """ },
        { "empty", "" },
        { "JSON array", "[1, 2]" },
        { "JSON string", "\"relay_registration\"" },
        { "JSON number", "42" },
        { "JSON null", "null" },
        { "two objects", $$"""{"name": "a", "uuid": "{{U1}}", "message_type": "relay_registration"} {}""" },
        { "no message_type", $$"""{"name": "a", "uuid": "{{U1}}"}""" },
        { "unknown message_type", $$"""{"name": "a", "uuid": "{{U1}}", "message_type": "relay_hello"}""" },
        { "class-name message_type", $$"""{"name": "a", "uuid": "{{U1}}", "message_type": "RelayRegistrationRequest"}""" },
        { "message_type not a string", $$"""{"name": "a", "uuid": "{{U1}}", "message_type": 1}""" },
        { "unknown key", $$"""{"name": "a", "uuid": "{{U1}}", "extra": 1, "message_type": "relay_registration"}""" },
        { "key of another type", $$"""{"name": "a", "uuid": "{{U1}}", "success": true, "message_type": "relay_registration"}""" },
        { "missing name", $$"""{"uuid": "{{U1}}", "message_type": "relay_registration"}""" },
        { "missing uuid", """{"name": "a", "message_type": "relay_registration"}""" },
        { "invalid uuid", """{"name": "a", "uuid": "not-a-uuid", "message_type": "relay_registration"}""" },
        { "short uuid", """{"name": "a", "uuid": "5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a1", "message_type": "relay_registration"}""" },
        { "uuid as number", """{"name": "a", "uuid": 12345, "message_type": "relay_registration"}""" },
        { "uuid null", """{"name": "a", "uuid": null, "message_type": "relay_registration"}""" },
        { "name not a string", $$"""{"name": 5, "uuid": "{{U1}}", "message_type": "relay_registration"}""" },
        { "name null", $$"""{"name": null, "uuid": "{{U1}}", "message_type": "relay_registration"}""" },
        { "name object", $$"""{"name": {"a": 1}, "uuid": "{{U1}}", "message_type": "relay_registration"}""" },
        { "success not bool", """{"success": "yes", "message_type": "relay_response"}""" },
        { "response error not bool", """{"error": "x", "message_type": "relay_response"}""" },
        { "response message number", """{"message": 3, "message_type": "relay_response"}""" },
        { "peer missing description", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "message_type": "peer_connection"}""" },
        { "peer invalid source_uuid", $$"""{"source_uuid": "x", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "message_type": "peer_connection"}""" },
        { "peer invalid peer_uuid", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "zz", "description_type": "offer", "description": "d", "message_type": "peer_connection"}""" },
        { "peer description number", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": 1, "message_type": "peer_connection"}""" },
        { "peer error bool", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "error": false, "message_type": "peer_connection"}""" },
        { "peer unknown uuid-named key", $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "offer", "description": "d", "other_uuid": "x", "message_type": "peer_connection"}""" },
        { "trailing comma", $$"""{"name": "a", "uuid": "{{U1}}", "message_type": "relay_registration",}""" },
        { "comment", $$"""{"name": "a", /* c */ "uuid": "{{U1}}", "message_type": "relay_registration"}""" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void TryDecode_InvalidInput_ReturnsFalseWithReason(string rule, string input)
    {
        Assert.False(RelayCodec.TryDecode(Encoding.UTF8.GetBytes(input), out _, out var error), rule);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Decode_InvalidInput_Throws(string rule, string input)
    {
        var ex = Assert.Throws<RelayDecodeException>(() => RelayCodec.Decode(input));
        Assert.False(string.IsNullOrEmpty(ex.Message), rule);
    }

    [Fact]
    public void TryDecode_InvalidUtf8_ReturnsFalse()
    {
        var bytes = Encoding.UTF8.GetBytes($$"""{"name": "aXa", "uuid": "{{U1}}", "message_type": "relay_registration"}""");
        bytes[10] = 0xFF;
        Assert.False(RelayCodec.TryDecode(bytes, out _, out _));
    }

    [Fact]
    public void TryDecode_DeepNesting_ReturnsFalse()
    {
        var deep = new string('[', 10_000) + new string(']', 10_000);
        Assert.False(RelayCodec.TryDecode(Encoding.UTF8.GetBytes($$"""{"name": {{deep}}, "message_type": "relay_registration"}"""), out _, out _));
    }

    [Theory]
    [InlineData("5C1E8B0E-0D2A-4A53-9D5F-0F1B6F4C2A11")]
    [InlineData("5c1e8b0e0d2a4a539d5f0f1b6f4c2a11")]
    [InlineData("{5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11}")]
    [InlineData("urn:uuid:5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11")]
    [InlineData("5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11")]
    public void Uuid_AcceptedFormsOfPython_ParseAndEncodeCanonicalLowerCase(string form)
    {
        var message = RelayCodec.Decode($$"""{"name": "a", "uuid": "{{form}}", "message_type": "relay_registration"}""");
        Assert.Contains($"\"uuid\": \"{U1}\"", RelayCodec.EncodeToString(message), StringComparison.Ordinal);
    }

    [Fact]
    public void Response_OnlyMessageType_TakesDefaults()
    {
        var response = Assert.IsType<RelayResponse>(RelayCodec.Decode("""{"message_type": "relay_response"}"""));
        Assert.True(response.Success);
        Assert.Null(response.Message);
        Assert.False(response.Error);
    }

    [Fact]
    public void Peer_ErrorOmitted_IsNull()
    {
        var peer = Assert.IsType<PeerConnection>(RelayCodec.Decode(
            $$"""{"source_uuid": "{{U1}}", "source_name": "a", "peer_uuid": "{{U2}}", "description_type": "candidate", "description": "d", "message_type": "peer_connection"}"""));
        Assert.Null(peer.Error);
        Assert.Equal("candidate", peer.DescriptionType);
    }

    [Fact]
    public void KeysInAnyOrder_AndDuplicateKeys_LastWins()
    {
        var message = Assert.IsType<RelayRegistration>(RelayCodec.Decode(
            $$"""{"message_type": "relay_registration", "uuid": "{{U1}}", "name": "first", "name": "second"}"""));
        Assert.Equal("second", message.Name);
    }

    [Fact]
    public void EscapedKeysAndValues_AreUnderstood()
    {
        var message = Assert.IsType<RelayRegistration>(RelayCodec.Decode(
            $$"""{"n\u0061me": "caf\u00e9 \ud83d\ude00", "uuid": "{{U1}}", "message_type": "relay_registration"}"""));
        Assert.Equal("café 😀", message.Name);
    }

    [Fact]
    public void LoneSurrogateEscape_DecodesWithReplacementCharacter()
    {
        Assert.True(RelayCodec.TryDecode(
            Encoding.UTF8.GetBytes($$"""{"name": "a\ud800b\/\"", "uuid": "{{U1}}", "message_type": "relay_registration"}"""),
            out var frame,
            out _));
        Assert.Equal("a\uFFFDb/\"", frame.Name.GetString());
    }
}
