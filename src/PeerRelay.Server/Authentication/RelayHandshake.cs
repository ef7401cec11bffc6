using System.Net;
using Microsoft.AspNetCore.Http;

namespace PeerRelay.Server.Authentication;

/// <summary>What an authenticator may look at: the HTTP request that opened the WebSocket.</summary>
/// <param name="Headers">The request headers (e.g. <c>Authorization</c>).</param>
/// <param name="Query">The query string (browsers pass a token as <c>access_token</c>).</param>
/// <param name="RemoteAddress">The client's address, or null when unknown.</param>
public sealed record RelayHandshake(IHeaderDictionary Headers, IQueryCollection Query, IPAddress? RemoteAddress)
{
    /// <summary>
    /// Returns the bearer token from the <c>Authorization</c> header, or from the <c>access_token</c> query parameter
    /// when there is no such header.
    /// </summary>
    /// <param name="token">The token, when one was found and well-formed.</param>
    /// <param name="problem">Why no token was found, when none was.</param>
    /// <returns><see langword="true"/> when a token was found.</returns>
    public bool TryGetBearerToken(out string token, out string problem)
    {
        token = string.Empty;
        var header = Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            var query = Query["access_token"].ToString();
            if (query.Length == 0)
            {
                problem = "Request headers are missing authorization header.";
                return false;
            }

            token = query;
            problem = string.Empty;
            return true;
        }

        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length == Scheme.Length)
        {
            problem = "Authorization header is not of the form 'Bearer <token>'.";
            return false;
        }

        token = header[Scheme.Length..].Trim();
        if (token.Length == 0)
        {
            problem = "Authorization header has an empty bearer token.";
            return false;
        }

        problem = string.Empty;
        return true;
    }
}
