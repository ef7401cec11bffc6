using System.Text;
using PeerRelay.Protocol;

namespace PeerRelay.Protocol.Tests;

/// <summary>The literal example lines of PROTOCOL.md decode, and encode back to the same bytes.</summary>
public sealed class GoldenExampleTests
{
    public const string Registration =
        """{"name": "laptop", "uuid": "5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11", "message_type": "relay_registration"}""";

    public const string Response =
        """{"success": true, "message": null, "error": false, "message_type": "relay_response"}""";

    public const string Peer =
        """{"source_uuid": "5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11", "source_name": "laptop", "peer_uuid": "0b7f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d", "description_type": "offer", "description": "{\"sdp\": \"v=0...\", \"type\": \"offer\"}", "error": null, "message_type": "peer_connection"}""";

    [Theory]
    [InlineData(Registration)]
    [InlineData(Response)]
    [InlineData(Peer)]
    public void Example_RoundTrips_ByteForByte(string line)
    {
        var message = RelayCodec.Decode(line);
        Assert.Equal(line, RelayCodec.EncodeToString(message));
    }

    [Fact]
    public void Registration_Example_DecodesFields()
    {
        var message = Assert.IsType<RelayRegistration>(RelayCodec.Decode(Registration));
        Assert.Equal("laptop", message.Name);
        Assert.Equal(Guid.Parse("5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11"), message.Uuid);
    }

    [Fact]
    public void Peer_Example_DecodesDescriptionUnescaped()
    {
        var message = Assert.IsType<PeerConnection>(RelayCodec.Decode(Peer));
        Assert.Equal("{\"sdp\": \"v=0...\", \"type\": \"offer\"}", message.Description);
        Assert.Equal("offer", message.DescriptionType);
        Assert.Null(message.Error);
    }

    [Fact]
    public void Response_Example_MatchesDefaults()
    {
        Assert.Equal(new RelayResponse(), RelayCodec.Decode(Encoding.UTF8.GetBytes(Response)));
    }
}
