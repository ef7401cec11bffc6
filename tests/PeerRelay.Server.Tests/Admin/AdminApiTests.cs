using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerRelay.Protocol;
using PeerRelay.Server.Hosting;
using PeerRelay.Server.Internal;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests.Admin;

/// <summary>The admin API on real Kestrel: access (token, origin), the client list, kick, users, nodes, drain, log level.</summary>
public sealed class AdminApiTests
{
    private const string Token = "test-admin-token-0123456789";

    private static Task<RelayTestServer> StartAsync(CapturingLoggerProvider? logs = null) => RelayTestServer.StartAsync(
        relay: r => r.UseAuthenticator<HeaderUserAuthenticator>().AddAdmin(o => o.Token = Token),
        host: b =>
        {
            if (logs is not null)
            {
                b.Logging.AddProvider(logs);
            }
        },
        map: app => app.MapPeerRelayAdmin());

    private static HttpClient Http(RelayTestServer server, string? token = Token)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Uri.Port}/") };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    private static async Task<(TestRelayClient Client, Guid Uuid)> ConnectAsync(RelayTestServer server, string name, string user)
    {
        var client = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Test-User", user));
        var uuid = Guid.NewGuid();
        await client.RegisterAsync(uuid, name);
        return (client, uuid);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong")]
    [InlineData("test-admin-token-012345678")] // One character short.
    [InlineData("test-admin-token-0123456789-and-more")]
    public async Task Api_WithoutTheRightToken_Is401(string? token)
    {
        await using var server = await StartAsync();
        using var http = Http(server, token);

        var response = await http.GetAsync(new Uri("admin/api/clients", UriKind.Relative)).WithTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Api_FromAnotherOrigin_Is403_EvenWithTheToken()
    {
        await using var server = await StartAsync();
        using var http = Http(server);
        using var foreign = new HttpRequestMessage(HttpMethod.Delete, $"admin/api/clients/{Guid.NewGuid()}");
        foreign.Headers.Add("Origin", "https://evil.example");
        using var sameOrigin = new HttpRequestMessage(HttpMethod.Get, "admin/api/summary");
        sameOrigin.Headers.Add("Origin", $"http://127.0.0.1:{server.Uri.Port}");

        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(foreign).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(sameOrigin).WithTimeout()).StatusCode);
    }

    [Fact]
    public async Task Summary_CountsMessagesReceivedAndForwarded()
    {
        await using var server = await StartAsync();
        using var http = Http(server);
        var (a, aId) = await ConnectAsync(server, "alpha-laptop", "alice");
        var (b, bId) = await ConnectAsync(server, "alpha-desktop", "alice");
        await using var _a = a;
        await using var _b = b;
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId));
        await b.ReceiveJsonAsync();

        // The per-message counts are observable instruments, read when the summary is asked for.
        var summary = await GetJsonAsync(http, "admin/api/summary");
        Assert.Equal(3, (long)summary["messages_received"]!); // Two registrations and the forward.
        Assert.Equal(1, (long)summary["messages_forwarded"]!);
    }

    [Fact]
    public async Task Clients_FilteredByUserAndName_Paged_WithMessageCounts()
    {
        await using var server = await StartAsync();
        using var http = Http(server);
        var (a, aId) = await ConnectAsync(server, "alpha-laptop", "alice");
        var (b, bId) = await ConnectAsync(server, "alpha-desktop", "alice");
        var (c, _) = await ConnectAsync(server, "beta-server", "bob");
        await using var _a = a;
        await using var _b = b;
        await using var _c = c;
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId));
        await b.ReceiveJsonAsync();

        var all = await GetJsonAsync(http, "admin/api/clients");
        Assert.Equal(3, (int)all["total"]!);
        var first = all["clients"]!.AsArray()[0]!;
        Assert.Equal(aId.ToString(), (string)first["uuid"]!);
        Assert.Equal("alpha-laptop", (string)first["name"]!);
        Assert.Equal("alice", (string)first["user"]!);
        Assert.Equal(Environment.MachineName, (string)first["node"]!);
        Assert.StartsWith("127.0.0.1:", (string)first["remote"]!, StringComparison.Ordinal);
        Assert.True(DateTimeOffset.UtcNow - (DateTimeOffset)first["connected_since"]! < TimeSpan.FromMinutes(1));
        Assert.Equal(2, (long)first["messages_in"]!); // Registration and the forward.
        Assert.Equal(1, (long)first["messages_out"]!); // The registration's response.
        Assert.Equal(2, (long)all["clients"]!.AsArray()[1]!["messages_out"]!); // Response and the forwarded message.

        var alice = await GetJsonAsync(http, "admin/api/clients?user=alice");
        Assert.Equal(2, (int)alice["total"]!);
        var named = await GetJsonAsync(http, "admin/api/clients?name=BETA");
        Assert.Equal("beta-server", (string)named["clients"]!.AsArray().Single()!["name"]!);
        var page = await GetJsonAsync(http, "admin/api/clients?offset=1&limit=1");
        Assert.Equal(3, (int)page["total"]!);
        Assert.Equal(bId.ToString(), (string)page["clients"]!.AsArray().Single()!["uuid"]!);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(new Uri("admin/api/clients?limit=0", UriKind.Relative)).WithTimeout()).StatusCode);

        var users = await GetJsonAsync(http, "admin/api/users");
        Assert.Equal(2, (int)users["total"]!);
        Assert.Equal("alice", (string)users["users"]!.AsArray()[0]!["user"]!);
        Assert.Equal(2, (int)users["users"]!.AsArray()[0]!["clients"]!);

        var nodes = await GetJsonAsync(http, "admin/api/nodes");
        var node = nodes["nodes"]!.AsArray().Single()!;
        Assert.True((bool)node["is_local"]!);
        Assert.Equal(3, (int)node["clients"]!);
    }

    [Fact]
    public async Task Kick_ClosesTheClientWith1008_OthersStay()
    {
        await using var server = await StartAsync();
        using var http = Http(server);
        var (a, aId) = await ConnectAsync(server, "victim", "alice");
        var (b, bId) = await ConnectAsync(server, "bystander", "alice");
        await using var _a = a;
        await using var _b = b;

        var response = await http.DeleteAsync(new Uri($"admin/api/clients/{aId}", UriKind.Relative)).WithTimeout();

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var (code, reason) = await a.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.PolicyViolation, code);
        Assert.Equal("Disconnected by the relay's operator.", reason);
        await TaskTimeoutExtensions.WaitUntil(() => server.RegisteredCount() == 1);
        await b.SendTextAsync(TestRelayClient.PeerConnection(bId, bId));
        Assert.Equal(bId.ToString(), (string)(await b.ReceiveJsonAsync())["peer_uuid"]!);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync(new Uri($"admin/api/clients/{aId}", UriKind.Relative)).WithTimeout()).StatusCode);

        // An operator's kick is not abuse: once the kicked connection has ended, its address is not under
        // abuse_penalty (5 s by default), so a client from it connects and registers at once.
        var limiter = server.Services.GetRequiredService<ConnectionLimiter>();
        await TaskTimeoutExtensions.WaitUntil(() => limiter.Count == 1);
        var (back, _) = await ConnectAsync(server, "back", "alice");
        await using var _back = back;
    }

    [Fact]
    public async Task Drain_FlipsReadiness_ClosesClientsWith1001()
    {
        await using var server = await StartAsync();
        using var http = Http(server);
        var (a, _) = await ConnectAsync(server, "a", "alice");
        await using var _a = a;

        var response = await http.PostAsync(new Uri("admin/api/drain", UriKind.Relative), null).WithTimeout();

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(RelayCloseCodes.GoingAway, (await a.ReceiveCloseAsync()).Code);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("readyz", UriKind.Relative)).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("healthz", UriKind.Relative)).WithTimeout()).StatusCode);
        Assert.True((bool)(await GetJsonAsync(http, "admin/api/summary"))["draining"]!);
    }

    [Fact]
    public async Task LogLevel_SetAtRunTime_ChangesWhatIsLogged()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await StartAsync(logs);
        using var http = Http(server);
        await using (var before = await TestRelayClient.ConnectAsync(server.Uri))
        {
            await before.RegisterAsync(Guid.NewGuid());
        }

        // The test server logs at WARNING: connections (DEBUG) are not logged.
        Assert.DoesNotContain(logs.Lines, l => l.Contains("opened from", StringComparison.Ordinal));
        var set = await http.PutAsJsonAsync(new Uri("admin/api/log-level", UriKind.Relative), new { level = "debug" }).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal("DEBUG", (string)(await GetJsonAsync(http, "admin/api/log-level"))["level"]!);

        await using var after = await TestRelayClient.ConnectAsync(server.Uri);
        await after.RegisterAsync(Guid.NewGuid());
        await TaskTimeoutExtensions.WaitUntil(() => logs.Lines.Any(l => l.Contains("opened from", StringComparison.Ordinal)));
        Assert.Contains(logs.Lines, l => l.Contains("log level is now DEBUG", StringComparison.Ordinal));

        var bad = await http.PutAsJsonAsync(new Uri("admin/api/log-level", UriKind.Relative), new { level = "chatty" }).WithTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Dashboard_IsServedWithAStrictContentSecurityPolicy()
    {
        await using var server = await StartAsync();
        using var http = Http(server, token: null);

        var page = await http.GetAsync(new Uri("admin", UriKind.Relative)).WithTimeout();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Contains("/admin/admin.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("admin/admin.js", UriKind.Relative)).WithTimeout()).StatusCode);
    }

    internal static async Task<JsonObject> GetJsonAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(new Uri(path, UriKind.Relative)).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }
}
