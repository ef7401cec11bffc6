using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using PeerRelay.Server.Hosting;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Serves the browser client (<c>/peerrelay.js</c>) and the self-test page (<c>/demo</c>, <c>/demo.js</c>) from
/// resources embedded in this assembly: no static-file middleware, no files on disk, no build step.
/// </summary>
internal static class BrowserAssets
{
    // Path, embedded resource name, content type. The demo page loads ./demo.js and ./peerrelay.js relative to /demo.
    private static readonly (string Path, string Resource, string ContentType)[] Assets =
    [
        ("/peerrelay.js", "PeerRelay.Browser.peerrelay.js", "text/javascript; charset=utf-8"),
        ("/demo", "PeerRelay.Browser.demo.html", "text/html; charset=utf-8"),
        ("/demo.js", "PeerRelay.Browser.demo.js", "text/javascript; charset=utf-8"),
    ];

    // Same-origin scripts only; the relay may be another host, so any ws:/wss: connection is allowed.
    private const string DemoContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>
    /// Maps GET and HEAD for each asset (<see cref="PeerRelayEndpointRouteBuilderExtensions.MapRelayPage"/>: a
    /// WebSocket request to one of these paths still goes to the relay).
    /// </summary>
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        foreach (var (path, resource, contentType) in Assets)
        {
            var asset = Load(resource, contentType, DemoContentSecurityPolicy);
            endpoints.MapRelayPage(path, context => WriteAsync(context, asset)).WithDisplayName($"PeerRelay browser {path}");
        }
    }

    /// <summary>
    /// Maps one embedded file (<c>src/PeerRelay.Server/Browser/NAME</c>) at <paramref name="path"/>, served with
    /// <paramref name="contentSecurityPolicy"/> when it is a page, while <paramref name="allowed"/> says so (404 otherwise).
    /// </summary>
    public static IEndpointConventionBuilder MapEmbedded(
        IEndpointRouteBuilder endpoints, string path, string name, string contentType, string contentSecurityPolicy, Func<HttpContext, bool> allowed)
    {
        var asset = Load($"PeerRelay.Browser.{name}", contentType, contentSecurityPolicy);
        return endpoints.MapRelayPage(path, context =>
        {
            if (allowed(context))
            {
                return WriteAsync(context, asset);
            }

            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
    }

    private static Asset Load(string resource, string contentType, string contentSecurityPolicy)
    {
        using var stream = typeof(BrowserAssets).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} is missing from PeerRelay.Server.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var bytes = buffer.ToArray();
        var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 16))}\"";
        return new Asset(bytes, contentType, etag, contentSecurityPolicy);
    }

    private static Task WriteAsync(HttpContext context, Asset asset)
    {
        var response = context.Response;
        var headers = response.Headers;
        headers.ETag = asset.ETag;
        // Revalidate every time: a relay upgrade must never leave an old client in a browser cache.
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        if (asset.ContentType.StartsWith("text/html", StringComparison.Ordinal))
        {
            headers.ContentSecurityPolicy = asset.ContentSecurityPolicy;
            headers["Referrer-Policy"] = "no-referrer";
        }

        if (context.Request.Headers.IfNoneMatch.Contains(asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Bytes.Length;
        return HttpMethods.IsHead(context.Request.Method)
            ? Task.CompletedTask
            : response.Body.WriteAsync(asset.Bytes, context.RequestAborted).AsTask();
    }

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag, string ContentSecurityPolicy);
}
