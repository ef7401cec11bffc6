using System.CommandLine;
using PeerRelay.Check;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Hosting;
using PeerRelay.Testing;

namespace PeerRelay.Client.Tests;

/// <summary><c>peerrelay check</c>, run in-process through its System.CommandLine command, against real servers.</summary>
public sealed class CheckCommandTests
{
    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var root = new RootCommand { CheckCommand.Create() };
        var code = await root.Parse(["check", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WithTimeout();
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task LiveRelay_ExitsZeroAndPrintsTimesAndPercentiles()
    {
        await using var server = await RelayTestServer.StartAsync();

        var (code, output, error) = await RunAsync(server.Uri.ToString(), "--count", "25");

        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Empty(error);
        Assert.Matches(@"connected\s+\d+\.\d\d ms  \(first, cold connection: \d+\.\d\d ms\)", output);
        Assert.Matches(@"registered\s+\d+\.\d\d ms  \(first: \d+\.\d\d ms, as [0-9a-f-]{36}\)", output);
        Assert.Matches(@"round trip\s+p50 \d+\.\d\d ms\s+p90 \d+\.\d\d ms\s+p99 \d+\.\d\d ms\s+max \d+\.\d\d ms\s+\(25 messages, after 3 unmeasured\)", output);
        Assert.Contains("returned 25 of 25 messages", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClosedPort_ExitsConnectionRefusedWithOneSentence()
    {
        var port = FakeServers.ClosedPort();

        var (code, _, error) = await RunAsync($"ws://127.0.0.1:{port}/");

        Assert.Equal((int)CheckExitCode.ConnectionRefused, code);
        Assert.Equal(10, code);
        Assert.Equal(
            $"Connection refused: nothing accepts connections at 127.0.0.1:{port} (is the relay running, on this port?).",
            error.Trim());
    }

    [Fact]
    public async Task Token_RejectedOrMissing_ExitsTokenRejected_AcceptedPasses()
    {
        var auth = new RecordingAuthenticator(header => header switch
        {
            "" => RelayAuthResult.Unauthorized("Request headers are missing authorization header."),
            "Bearer good" => RelayAuthResult.Success(new RelayUser("operator")),
            _ => RelayAuthResult.Forbidden("Token is not active."),
        });
        await using var server = await RelayTestServer.StartAsync(relay: r => r.UseAuthenticator(auth));

        var missing = await RunAsync(server.Uri.ToString());
        Assert.Equal((int)CheckExitCode.TokenRejected, missing.Code);
        Assert.Equal("Token rejected: the relay closed the connection with 4001 (UnauthorizedError: Request headers are missing authorization header.).", missing.Error.Trim());

        var bad = await RunAsync(server.Uri.ToString(), "--token", "bad");
        Assert.Equal((int)CheckExitCode.TokenRejected, bad.Code);
        Assert.Contains("with 4002 (ForbiddenError: Token is not active.)", bad.Error, StringComparison.Ordinal);

        var good = await RunAsync(server.Uri.ToString(), "--token", "good", "--count", "3");
        Assert.True(good.Code == 0, good.Error);
        Assert.DoesNotContain("good", good.Output + good.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlainHttpServer_ExitsNotARelay()
    {
        await using var http = await FakeServers.StartPlainHttpAsync();

        var (code, _, error) = await RunAsync(FakeServers.WebSocketUri(http).ToString());

        Assert.Equal((int)CheckExitCode.NotARelay, code);
        Assert.StartsWith("Not a relay: the server at", error, StringComparison.Ordinal);
        Assert.Contains("did not upgrade to a WebSocket", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlainHttp10Server_ExitsNotARelay()
    {
        var (http, uri) = FakeServers.StartHttp10();
        try
        {
            var (code, _, error) = await RunAsync(uri.ToString());

            Assert.True(code == (int)CheckExitCode.NotARelay, $"exit {code}: {error}");
            Assert.Equal(
                $"Not a relay: the server at {uri} did not upgrade to a WebSocket (The server answered the WebSocket upgrade with HTTP/1.0 instead of 101 Switching Protocols).",
                error.Trim());
        }
        finally
        {
            http.Stop();
        }
    }

    [Theory]
    [InlineData("""{"hello": "world"}""")]
    [InlineData("""{"source_uuid": "5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11", "source_name": "x", "peer_uuid": "5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11", "description_type": "offer", "description": "x", "error": null, "message_type": "peer_connection"}""")]
    public async Task WebSocketServerWithWrongReplies_ExitsNotARelay(string reply)
    {
        await using var fake = await FakeServers.StartWebSocketAsync(reply);

        var (code, _, error) = await RunAsync(FakeServers.WebSocketUri(fake).ToString());

        Assert.Equal((int)CheckExitCode.NotARelay, code);
        Assert.StartsWith("Not a relay: the server answered the registration", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerThatNeverAnswersTheRegistration_ExitsTimeout()
    {
        await using var silent = await FakeServers.StartWebSocketAsync(reply: null);

        var (code, _, error) = await RunAsync(FakeServers.WebSocketUri(silent).ToString(), "--timeout", "1");

        // On a loaded machine the connect step itself may be the one that runs out; both are time-outs.
        Assert.Equal((int)CheckExitCode.Timeout, code);
        Assert.StartsWith("Timed out: ", error, StringComparison.Ordinal);
        Assert.Contains(" 1 s.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelfSignedCertificate_ExitsTlsFailed_UnlessInsecure()
    {
        var (app, uri) = await FakeServers.StartTlsRelayAsync();
        await using var _ = app;

        var (code, _, error) = await RunAsync(uri.ToString());
        Assert.Equal((int)CheckExitCode.TlsFailed, code);
        Assert.StartsWith("TLS certificate not trusted:", error, StringComparison.Ordinal);
        Assert.Contains("--insecure", error, StringComparison.Ordinal);

        var insecure = await RunAsync(uri.ToString(), "--insecure", "--count", "3");
        Assert.True(insecure.Code == 0, insecure.Error);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8700/")]
    [InlineData("ws://127.0.0.1:8700/", "--count", "0")]
    [InlineData("ws://127.0.0.1:8700/", "--timeout", "-1")]
    public async Task InvalidArguments_ExitTwo(params string[] args)
    {
        var (code, _, error) = await RunAsync(args);
        Assert.Equal((int)CheckExitCode.InvalidArguments, code);
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Percentile_IsNearestRank()
    {
        var values = Enumerable.Range(1, 100).Select(i => TimeSpan.FromMilliseconds(i)).ToList();
        Assert.Equal(TimeSpan.FromMilliseconds(50), CheckRunner.Percentile(values, 0.50));
        Assert.Equal(TimeSpan.FromMilliseconds(90), CheckRunner.Percentile(values, 0.90));
        Assert.Equal(TimeSpan.FromMilliseconds(99), CheckRunner.Percentile(values, 0.99));
        Assert.Equal(TimeSpan.FromMilliseconds(7), CheckRunner.Percentile([TimeSpan.FromMilliseconds(7)], 0.99));
    }
}
