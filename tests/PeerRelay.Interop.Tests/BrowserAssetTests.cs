using System.Net;
using PeerRelay.Testing;

namespace PeerRelay.Interop.Tests;

/// <summary>The relay serves the browser client and the self-test page itself, beside the WebSocket catch-all.</summary>
public sealed class BrowserAssetTests
{
    [Theory]
    [InlineData("/peerrelay.js", "text/javascript", "export class RelayClient")]
    [InlineData("/demo", "text/html", "PeerRelay self-test")]
    [InlineData("/demo.js", "text/javascript", "from './peerrelay.js'")]
    public async Task Get_BrowserAsset_ServedWithContentTypeAndRevalidation(string path, string mediaType, string content)
    {
        await using var relay = await RelayTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new UriBuilder(relay.Uri) { Scheme = "http" }.Uri };

        using var response = await http.GetAsync(path).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.Contains(content, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(response.Headers.CacheControl?.NoCache);
        Assert.NotNull(response.Headers.ETag);

        using var again = new HttpRequestMessage(HttpMethod.Get, path);
        again.Headers.IfNoneMatch.Add(response.Headers.ETag);
        using var revalidated = await http.SendAsync(again).WithTimeout();
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
    }

    [Fact]
    public async Task Get_Demo_HasContentSecurityPolicyWithoutInlineScripts()
    {
        await using var relay = await RelayTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new UriBuilder(relay.Uri) { Scheme = "http" }.Uri };
        using var response = await http.GetAsync("/demo").WithTimeout();
        var policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebSocket_ToDemoPath_StillReachesRelay()
    {
        await using var relay = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(new Uri(relay.Uri, "/demo"));
        await client.RegisterAsync(Guid.NewGuid());
    }
}
