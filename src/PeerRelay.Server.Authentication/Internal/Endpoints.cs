using System.Net;

namespace PeerRelay.Server.Authentication.Internal;

/// <summary>Checks the identity endpoints the relay calls: secrets and tokens travel to them, so https is a must.</summary>
internal static class Endpoints
{
    /// <summary>Adds a problem to <paramref name="problems"/> unless <paramref name="url"/> is https, or http on loopback.</summary>
    public static void Check(string key, Uri? url, List<string> problems)
    {
        if (url is null)
        {
            return;
        }

        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            problems.Add($"{key}: '{url}' is not an absolute http(s) URL");
        }
        else if (!IsAllowed(url))
        {
            problems.Add($"{key}: '{url}' must use https (plain http is allowed only on a loopback address such as 127.0.0.1)");
        }
    }

    /// <summary>Returns true for https, or http to a loopback host.</summary>
    public static bool IsAllowed(Uri url) =>
        url.Scheme == Uri.UriSchemeHttps
        || (url.Scheme == Uri.UriSchemeHttp
            && (url.IsLoopback || (IPAddress.TryParse(url.IdnHost.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip))));
}
