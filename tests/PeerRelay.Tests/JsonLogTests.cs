using System.Net.Http.Headers;
using System.Text.Json;
using PeerRelay.Logging;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary><c>log_format = "json"</c>: one JSON object per line, stable field names, and never a token or an SDP body.</summary>
public sealed class JsonLogTests : IDisposable
{
    private const string HeaderToken = "header-secret-token-7f3a9c";
    private const string QueryToken = "query-secret-token-51be02";
    private const string AdminToken = "admin-secret-token-0123456789abcdef";
    private const string SdpMarker = "SDP-BODY-MARKER-c41d";

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task JsonLines_EveryLineAnObject_NoTokenOrSdpAnywhere()
    {
        var logs = Path.Combine(_directory.Path, "logs");
        var relay = await InProcessRelay.StartAsync($"""
            admin_token = "{AdminToken}"

            [logging]
            log_dir = "{logs}"
            log_format = "json"
            default_level = "DEBUG"
            websockets_level = "DEBUG"
            """);
        await using (relay)
        {
            var withToken = new UriBuilder(relay.Uri) { Query = $"access_token={QueryToken}" }.Uri;
            await using var a = await TestRelayClient.ConnectAsync(withToken, o => o.SetRequestHeader("Authorization", $"Bearer {HeaderToken}"));
            await using var b = await TestRelayClient.ConnectAsync(relay.Uri);
            var (aId, bId) = (Guid.NewGuid(), Guid.NewGuid());
            await a.RegisterAsync(aId, "json-a");
            await b.RegisterAsync(bId, "json-b");
            var sdp = $"v=0\\r\\no=- {SdpMarker} 2 IN IP4 127.0.0.1\\r\\n";
            await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId, sdp));
            await b.ReceiveJsonAsync();
            await a.SendTextAsync(TestRelayClient.PeerConnection(aId, Guid.NewGuid(), sdp)); // Unknown peer: a WARNING.
            await a.ReceiveJsonAsync();
            await b.SendTextAsync($"{{\"message_type\": \"peer_connection\", \"description\": \"{SdpMarker}\""); // Not JSON: 4000.
            await b.ReceiveCloseAsync();

            using var http = new HttpClient();
            using var wrong = new HttpRequestMessage(HttpMethod.Get, new Uri(MetricsEndpointTests.HttpUri(relay.Uri), $"/admin/api/summary?access_token={QueryToken}"));
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", HeaderToken);
            await http.SendAsync(wrong).WithTimeout();
            using var kick = new HttpRequestMessage(HttpMethod.Delete, new Uri(MetricsEndpointTests.HttpUri(relay.Uri), $"/admin/api/clients/{aId}"));
            kick.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
            await http.SendAsync(kick).WithTimeout();
            await a.ReceiveCloseAsync();
        }

        // Stopped: the file writer has drained its queue.
        var lines = File.ReadAllLines(Path.Combine(logs, WeeklyLogFile.NameFor(DateTimeOffset.UtcNow)));
        Assert.True(lines.Length > 10, $"only {lines.Length} lines");
        foreach (var line in lines)
        {
            foreach (var secret in new[] { HeaderToken, QueryToken, AdminToken, SdpMarker })
            {
                Assert.False(line.Contains(secret, StringComparison.Ordinal), $"a log line holds {secret}: {line}");
            }

            using var entry = JsonDocument.Parse(line);
            var root = entry.RootElement;
            Assert.Equal(JsonValueKind.Object, root.ValueKind);
            foreach (var field in new[] { "time", "level", "category", "event_id", "message" })
            {
                Assert.True(root.TryGetProperty(field, out _), $"no \"{field}\" in {line}");
            }
        }

        var registered = lines.Select(l => JsonDocument.Parse(l).RootElement)
            .First(e => e.TryGetProperty("event", out var name) && name.GetString() == "Registered" && e.GetProperty("fields").GetProperty("Name").GetString() == "json-a");
        Assert.Equal("INFO", registered.GetProperty("level").GetString());
        Assert.Equal(3, registered.GetProperty("event_id").GetInt32());
        Assert.Contains(lines, l => l.Contains("\"event\":\"Kicked\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"level\":\"WARNING\"", StringComparison.Ordinal) && l.Contains("invalid message", StringComparison.Ordinal));
    }
}
