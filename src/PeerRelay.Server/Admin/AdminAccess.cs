using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Admin;

/// <summary>
/// Lets a request into the admin API: never from a browser page of another origin (403), then from loopback on
/// <see cref="RelayAdminOptions.LoopbackPort"/>, or with the bearer token (401 otherwise, in the same time whatever was
/// sent). Without a token or a port the admin side does not exist (404).
/// </summary>
internal sealed class AdminAccess(IOptions<RelayAdminOptions> options)
{
    private readonly byte[]? _tokenHash = options.Value.Token is { } token ? Hash(token) : null;
    private readonly int? _loopbackPort = options.Value.LoopbackPort;

    /// <summary>Gets a value indicating whether any request can be let in.</summary>
    public bool IsEnabled => _tokenHash is not null || _loopbackPort is not null;

    /// <summary>Returns null when the request may go on, otherwise the status code to refuse it with.</summary>
    public int? Check(HttpContext context)
    {
        var request = context.Request;
        if (IsCrossOrigin(request))
        {
            return StatusCodes.Status403Forbidden;
        }

        if (_loopbackPort is { } port && context.Connection.LocalPort == port && IsLoopback(context))
        {
            return null;
        }

        if (_tokenHash is null)
        {
            return StatusCodes.Status404NotFound;
        }

        // The same work whatever was sent (no header, another scheme, a wrong token of any length): one hash of
        // what follows "Bearer " and a fixed-length comparison.
        var header = request.Headers.Authorization.ToString();
        var given = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header.AsSpan(7).Trim() : ReadOnlySpan<char>.Empty;
        var match = CryptographicOperations.FixedTimeEquals(Hash(given), _tokenHash);
        return match && given.Length > 0 ? null : StatusCodes.Status401Unauthorized;
    }

    /// <summary>Writes a refusal from <see cref="Check"/>.</summary>
    public static Task RefuseAsync(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"peerrelay-admin\"";
        }

        var text = status switch
        {
            StatusCodes.Status401Unauthorized => "{\"error\":\"unauthorized\"}",
            StatusCodes.Status403Forbidden => "{\"error\":\"cross-origin requests are refused\"}",
            _ => "{\"error\":\"not found\"}",
        };
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }

    /// <summary>
    /// A browser names the page's origin on every cross-origin request (and on same-origin ones but GET/HEAD); any
    /// origin but the relay's own is refused, which also stops a page posting a drain or a kick to the loopback port.
    /// </summary>
    private static bool IsCrossOrigin(HttpRequest request)
    {
        if (request.Headers["Sec-Fetch-Site"].ToString() is "cross-site" or "same-site")
        {
            return true;
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return false;
        }

        var own = $"{request.Scheme}://{request.Host.Value}";
        return !string.Equals(origin, own, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>From a loopback address, and for a loopback host name (a DNS-rebound name is not let in).</summary>
    private static bool IsLoopback(HttpContext context)
    {
        if (context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote))
        {
            return false;
        }

        var host = context.Request.Host.Host.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    // Comparing hashes keeps the comparison's length fixed: the time does not tell how long the token is.
    private static byte[] Hash(ReadOnlySpan<char> text) => SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
}
