using Microsoft.Extensions.Logging;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests;

/// <summary>Browsers pass their token in the query string; no log line may carry it, at any level.</summary>
public sealed class AccessTokenLoggingTests
{
    [Fact]
    public async Task AccessTokenInQuery_NeverAppearsInLogs_AtTraceLevel()
    {
        var logs = new CapturingLoggerProvider();
        const string Token = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXRleHQ.c2lnbmF0dXJl";
        await using (var server = await RelayTestServer.StartAsync(host: b =>
        {
            b.Logging.AddProvider(logs);
            b.Logging.SetMinimumLevel(LogLevel.Trace);
            b.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Trace);
        }))
        {
            await using var client = await TestRelayClient.ConnectAsync(new Uri(server.Uri, "/relay?access_token=" + Token));
            await client.RegisterAsync(Guid.NewGuid());
            await client.CloseAsync();
        }

        var lines = logs.Lines;
        Assert.Contains(lines, l => l.StartsWith("Debug Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Registered client", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(Token, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("access_token", StringComparison.Ordinal));
    }
}
