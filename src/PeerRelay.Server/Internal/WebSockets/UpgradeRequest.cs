using System.Buffers;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using PeerRelay.Server.Authentication;

namespace PeerRelay.Server.Internal.WebSockets;

/// <summary>What <see cref="UpgradeRequest.TryParse"/> found at the start of a connection.</summary>
internal enum UpgradeParse
{
    /// <summary>The request head is not complete yet.</summary>
    NeedMore,

    /// <summary>A WebSocket upgrade (RFC 6455, 4.2.1) that the relay takes over.</summary>
    Upgrade,

    /// <summary>Anything else (another request, a malformed or oversized one): left to Kestrel's HTTP/1.</summary>
    NotUpgrade,
}

/// <summary>
/// The opening request of a WebSocket connection, parsed straight from the connection's first bytes by
/// <see cref="RelayConnectionMiddleware"/>. Keeps the raw head (a few hundred bytes) so that the
/// <see cref="RelayHandshake"/> an authenticator needs can be rebuilt when the client registers, instead of keeping
/// header collections alive for every idle client.
/// </summary>
internal sealed class UpgradeRequest
{
    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    private readonly byte[] _head;

    private UpgradeRequest(byte[] head, string target, IHeaderDictionary headers, string key)
    {
        _head = head;
        Target = target;
        Headers = headers;
        Key = key;
    }

    /// <summary>Gets the raw request head, which <see cref="RelayConnection"/> keeps for <see cref="ToHandshake"/>.</summary>
    public byte[] Head => _head;

    /// <summary>Gets the request target (path and query) as sent.</summary>
    public string Target { get; }

    /// <summary>Gets the request headers (only while the handshake is checked; not kept with the connection).</summary>
    public IHeaderDictionary Headers { get; }

    /// <summary>Gets the client's <c>Sec-WebSocket-Key</c>.</summary>
    public string Key { get; }

    /// <summary>Gets the query string, with its leading <c>?</c>, or empty.</summary>
    public string QueryString => Target.IndexOf('?') is var q and >= 0 ? Target[q..] : string.Empty;

    /// <summary>Parses the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">The connection's unread input.</param>
    /// <param name="maxHeadBytes">Longest head accepted; a longer one is left to HTTP/1, which answers 431.</param>
    /// <param name="request">The upgrade, when <see cref="UpgradeParse.Upgrade"/>.</param>
    /// <param name="end">Where the head ends, when <see cref="UpgradeParse.Upgrade"/>.</param>
    /// <returns>What the buffer holds.</returns>
    public static UpgradeParse TryParse(in ReadOnlySequence<byte> buffer, int maxHeadBytes, out UpgradeRequest? request, out SequencePosition end)
    {
        request = null;
        end = buffer.Start;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> head, HeadEnd, advancePastDelimiter: true))
        {
            // Not a GET: no need to wait for the rest.
            if (buffer.Length >= 4 && !StartsWithGet(buffer))
            {
                return UpgradeParse.NotUpgrade;
            }

            return buffer.Length > maxHeadBytes ? UpgradeParse.NotUpgrade : UpgradeParse.NeedMore;
        }

        if (head.Length + 4 > maxHeadBytes)
        {
            return UpgradeParse.NotUpgrade;
        }

        end = reader.Position;
        request = Parse(head.ToArray());
        return request is null ? UpgradeParse.NotUpgrade : UpgradeParse.Upgrade;
    }

    /// <summary>Builds what an authenticator sees from a head kept by <see cref="Head"/>.</summary>
    public static RelayHandshake ToHandshake(byte[] head, IPAddress? client)
    {
        var request = Parse(head) ?? throw new ArgumentException("Not an upgrade request head.", nameof(head));
        var query = request.QueryString;
        var parsed = query.Length > 1 ? new QueryCollection(QueryHelpers.ParseQuery(query)) : QueryCollection.Empty;
        return new RelayHandshake(request.Headers, parsed, client);
    }

    private static bool StartsWithGet(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> start = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(start);
        return start.SequenceEqual("GET "u8);
    }

    private static UpgradeRequest? Parse(byte[] head)
    {
        var text = Encoding.Latin1.GetString(head);
        var lines = text.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || requestLine[0] != "GET" || requestLine[2] != "HTTP/1.1" || requestLine[1].Length == 0 || requestLine[1][0] != '/')
        {
            return null;
        }

        IHeaderDictionary headers = new HeaderDictionary();
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            var colon = line.IndexOf(':');
            if (colon <= 0 || line[0] is ' ' or '\t' || line.AsSpan(0, colon).ContainsAny(" \t"))
            {
                return null; // Obsolete line folding or a malformed header: HTTP/1 answers it with 400.
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(' ', '\t');
            headers[name] = headers.TryGetValue(name, out var existing)
                ? Microsoft.Extensions.Primitives.StringValues.Concat(existing, value)
                : value;
        }

        var key = headers["Sec-WebSocket-Key"].ToString();
        if (!HasToken(headers["Upgrade"], "websocket")
            || !HasToken(headers["Connection"], "upgrade")
            || headers["Sec-WebSocket-Version"].ToString() != "13"
            || !IsValidKey(key)
            || headers.Host.Count != 1)
        {
            return null; // HTTP/1 answers: 426 from the relay endpoint, or whatever the application maps.
        }

        return new UpgradeRequest(head, requestLine[1], headers, key);
    }

    private static bool HasToken(Microsoft.Extensions.Primitives.StringValues values, string token)
    {
        foreach (var value in values)
        {
            foreach (var part in (value ?? string.Empty).Split(','))
            {
                if (part.Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool IsValidKey(string key)
    {
        Span<byte> decoded = stackalloc byte[24];
        return key.Length == 24 && Convert.TryFromBase64String(key, decoded, out var written) && written == 16;
    }
}
