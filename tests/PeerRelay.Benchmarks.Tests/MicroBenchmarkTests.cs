namespace PeerRelay.Benchmarks.Tests;

/// <summary>Runs each micro-benchmark body once outside BenchmarkDotNet, so a broken set-up fails here, not at benchmark time.</summary>
public class MicroBenchmarkTests
{
    [Theory]
    [InlineData(200)]
    [InlineData(4096)]
    public void CodecBenchmarksRoundTrip(int size)
    {
        var benchmarks = new CodecBenchmarks { Size = size };
        benchmarks.Setup();

        Assert.NotEqual(Guid.Empty, benchmarks.DecodePeerConnection());
        Assert.Equal(Expected(size), benchmarks.EncodePeerConnection());
        Assert.IsType<PeerRelay.Protocol.PeerConnection>(benchmarks.DecodePeerConnectionToObject());
        Assert.True(benchmarks.EncodePeerConnectionObject() > 0);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(4096)]
    public void RouteAndSendWritesTheForwardedFrameToTheTarget(int size)
    {
        var benchmarks = new RouterBenchmarks { Size = size };
        benchmarks.Setup();
        try
        {
            // The relay writes the sender's registered name, the same as in the sample: the same bytes come out, in one
            // unmasked text frame (a 2-byte header up to 125 bytes, 4 bytes up to 64 KiB).
            var frame = Expected(size) + (Expected(size) <= 125 ? 2 : 4);
            Assert.Equal(frame, benchmarks.RouteAndSend());
            Assert.Equal(frame, benchmarks.RouteAndSend());
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }

    private static int Expected(int size) => Messages.PeerConnection(size, Messages.Source, Messages.Peer).Length;

    [Fact]
    public void SmallMessageBenchmarksWork()
    {
        var benchmarks = new SmallMessageBenchmarks();

        Assert.NotEqual(Guid.Empty, benchmarks.DecodeRegistration());
        Assert.True(benchmarks.EncodeRegistration() > 0);
        Assert.True(benchmarks.DecodeResponse());
        Assert.True(benchmarks.EncodeResponse() > 0);
    }
}
