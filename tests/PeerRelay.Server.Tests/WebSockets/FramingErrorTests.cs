using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>Frames that break RFC 6455, sent to a live relay over the connection middleware: precise close code, counted.</summary>
public sealed class FramingErrorTests
{
    [Theory]
    [InlineData("unmasked", 1002, "protocol_error")]
    [InlineData("reserved bits", 1002, "protocol_error")]
    [InlineData("invalid utf-8", 1007, "invalid_utf8")]
    public async Task BadFrame_ClosedWithItsCode_AndCounted(string what, int expectedCode, string reason)
    {
        await using var server = await RelayTestServer.StartAsync();
        using var rejected = new MetricRecorder(server.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "peerrelay.messages.rejected");

        using var raw = await RawWebSocket.OpenAsync(server.Uri.Port).WithTimeout();
        await raw.WriteAsync(
            $"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.Uri.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").WithTimeout();
        Assert.StartsWith("HTTP/1.1 101", await raw.ReadHeadAsync().WithTimeout(), StringComparison.Ordinal);

        var frame = what switch
        {
            "unmasked" => ClientFrame.Build(0x1, "{}"u8, masked: false),
            "reserved bits" => ClientFrame.Build(0x1, "{}"u8, rsv: 0x4), // RSV1 (compression) was never negotiated.
            _ => ClientFrame.Build(0x1, [0x7B, 0xC3, 0x28, 0x7D]),
        };
        await raw.SendRawAsync(frame).WithTimeout();

        var (first, masked, payload) = await raw.ReadWholeFrameAsync().WithTimeout() ?? throw new EndOfStreamException();
        Assert.Equal(0x88, first); // FIN + close
        Assert.False(masked);
        Assert.Equal(expectedCode, BinaryPrimitives.ReadUInt16BigEndian(payload));
        Assert.True(Encoding.UTF8.GetString(payload, 2, payload.Length - 2).Length > 0, "the close frame says why");
        await TaskTimeoutExtensions.WaitUntil(() => rejected.Count("reason", reason) == 1);
    }
}
