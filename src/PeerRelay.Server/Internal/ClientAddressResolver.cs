using System.Diagnostics.CodeAnalysis;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Finds the client's address for per-address limits and logs: the TCP peer, unless that peer is one of
/// <see cref="RelayServerOptions.TrustedProxies"/>, in which case <c>X-Forwarded-For</c> is read from the right, past
/// every trusted hop, to the first address a trusted proxy vouches for. A header from an untrusted peer is ignored,
/// so a client cannot pick its own address.
/// </summary>
internal sealed class ClientAddressResolver
{
    private readonly IPNetwork[] _trusted;

    public ClientAddressResolver(IOptions<RelayServerOptions> options)
    {
        var list = new List<IPNetwork>();
        foreach (var text in options.Value.TrustedProxies)
        {
            if (TryParseNetwork(text, out var network))
            {
                list.Add(network);
            }
        }

        _trusted = [.. list];
    }

    /// <summary>Parses an address (<c>10.0.0.1</c>) or a CIDR network (<c>10.0.0.0/8</c>).</summary>
    public static bool TryParseNetwork(string? text, out IPNetwork network)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (IPNetwork.TryParse(text, out network))
        {
            return true;
        }

        if (IPAddress.TryParse(text, out var address))
        {
            address = Normalize(address);
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }

    /// <summary>Gets a value indicating whether any proxy is trusted (otherwise <c>X-Forwarded-For</c> is never read).</summary>
    public bool HasTrustedProxies => _trusted.Length > 0;

    public IPAddress? Resolve(HttpContext context) =>
        Resolve(context.Connection.RemoteIpAddress, context.Request.Headers["X-Forwarded-For"]);

    public IPAddress? Resolve(IPAddress? peer, Microsoft.Extensions.Primitives.StringValues forwardedFor)
    {
        if (peer is null)
        {
            return null;
        }

        var current = Normalize(peer);
        if (_trusted.Length == 0 || !IsTrusted(current) || forwardedFor.Count == 0)
        {
            return current;
        }

        // Header values and the comma-separated hops inside each, rightmost (nearest) first.
        for (var i = forwardedFor.Count - 1; i >= 0; i--)
        {
            var value = forwardedFor[i].AsSpan();
            while (value.Length > 0)
            {
                var comma = value.LastIndexOf(',');
                var hop = (comma < 0 ? value : value[(comma + 1)..]).Trim();
                value = comma < 0 ? [] : value[..comma];
                if (hop.Length == 0)
                {
                    continue;
                }

                if (!TryParseHop(hop, out var address))
                {
                    // A hop we cannot read: stop at the last address a trusted proxy gave us.
                    return current;
                }

                current = address;
                if (!IsTrusted(current))
                {
                    return current;
                }
            }
        }

        return current;
    }

    /// <summary>Maps IPv4-mapped IPv6 addresses to IPv4, so one client has one key.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private bool IsTrusted(IPAddress address)
    {
        foreach (var network in _trusted)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryParseHop(ReadOnlySpan<char> hop, [NotNullWhen(true)] out IPAddress? address)
    {
        if (IPAddress.TryParse(hop, out address) || (IPEndPoint.TryParse(hop, out var endPoint) && (address = endPoint.Address) is not null))
        {
            address = Normalize(address);
            return true;
        }

        address = null;
        return false;
    }
}
