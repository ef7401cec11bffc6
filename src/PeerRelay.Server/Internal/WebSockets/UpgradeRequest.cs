using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
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
/// The opening request of a WebSocket connection, checked straight from the connection's first bytes by
/// <see cref="RelayConnectionMiddleware"/> without building strings or header collections. The key is kept (24
/// bytes, inline); the head is copied only when asked for (<c>keepHead</c>: an origin check, trusted proxies or an
/// authenticator will read it), and the header collection is built from that copy only when one of them asks.
/// </summary>
internal sealed class UpgradeRequest
{
    private const int KeyLength = 24;
    private readonly KeyBytes _key;
    private IHeaderDictionary? _headers;

    private UpgradeRequest(ReadOnlySpan<byte> key, byte[]? head)
    {
        key.CopyTo(_key);
        Head = head;
    }

    /// <summary>Gets the raw request head, which <see cref="RelayConnection"/> keeps for <see cref="ToHandshake"/>; null unless parsed with <c>keepHead</c>.</summary>
    public byte[]? Head { get; }

    /// <summary>Gets the client's <c>Sec-WebSocket-Key</c> (24 base64 characters).</summary>
    public ReadOnlySpan<byte> Key => _key;

    /// <summary>Gets the request headers, built on first use (only when parsed with <c>keepHead</c>).</summary>
    public IHeaderDictionary Headers => _headers ??= ParseHeaders(
        Head ?? throw new InvalidOperationException("The head was not kept: parse with keepHead to read its headers."), out _);

    /// <summary>Parses the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">The connection's unread input.</param>
    /// <param name="maxHeadBytes">Longest head accepted; a longer one is left to HTTP/1, which answers 431.</param>
    /// <param name="keepHead">Whether to keep a copy of the head for <see cref="Head"/> and <see cref="Headers"/>.</param>
    /// <param name="request">The upgrade, when <see cref="UpgradeParse.Upgrade"/>.</param>
    /// <param name="end">Where the head ends, when <see cref="UpgradeParse.Upgrade"/>.</param>
    /// <returns>What the buffer holds.</returns>
    public static UpgradeParse TryParse(in ReadOnlySequence<byte> buffer, int maxHeadBytes, bool keepHead, out UpgradeRequest? request, out SequencePosition end)
    {
        request = null;
        end = buffer.Start;
        if (buffer.Length >= 4 && !StartsWithGet(buffer))
        {
            return UpgradeParse.NotUpgrade; // Not a GET: no need to wait for the rest.
        }

        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8, advancePastDelimiter: true))
        {
            return buffer.Length > maxHeadBytes ? UpgradeParse.NotUpgrade : UpgradeParse.NeedMore;
        }

        if (head.Length + 4 > maxHeadBytes)
        {
            return UpgradeParse.NotUpgrade;
        }

        var bytes = head.IsSingleSegment ? head.FirstSpan : head.ToArray();
        if (Check(bytes) is not { } keyStart)
        {
            return UpgradeParse.NotUpgrade;
        }

        end = reader.Position;
        request = new UpgradeRequest(bytes.Slice(keyStart, KeyLength), keepHead ? bytes.ToArray() : null);
        return UpgradeParse.Upgrade;
    }

    /// <summary>Builds what an authenticator sees from a head kept by <see cref="Head"/>.</summary>
    public static RelayHandshake ToHandshake(byte[] head, IPAddress? client)
    {
        var headers = ParseHeaders(head, out var target);
        var q = target.IndexOf('?');
        var query = q >= 0 && q < target.Length - 1 ? new QueryCollection(QueryHelpers.ParseQuery(target[q..])) : QueryCollection.Empty;
        return new RelayHandshake(headers, query, client);
    }

    /// <summary>The key's bytes, inside the request object.</summary>
    [System.Runtime.CompilerServices.InlineArray(KeyLength)]
    private struct KeyBytes
    {
        private byte _first;
    }

    private static bool StartsWithGet(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> start = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(start);
        return start.SequenceEqual("GET "u8);
    }

    /// <summary>Checks that <paramref name="head"/> is a WebSocket upgrade; returns where its key starts, or null.</summary>
    private static int? Check(ReadOnlySpan<byte> head)
    {
        var lineLength = head.IndexOf((byte)'\r');
        if (lineLength < 0 || lineLength + 1 >= head.Length || head[lineLength + 1] != '\n')
        {
            return null; // No headers at all, or a bare CR.
        }

        var line = head[..lineLength];
        if (!line.StartsWith("GET /"u8) || !line.EndsWith(" HTTP/1.1"u8) || line.Length <= 13
            || line[4..^9].IndexOfAny((byte)' ', (byte)'\t') >= 0)
        {
            return null;
        }

        Span<byte> decoded = stackalloc byte[18];
        bool upgrade = false, connection = false, version = false;
        int hosts = 0, keyStart = -1;
        var offset = lineLength;
        while (offset >= 0 && offset < head.Length)
        {
            offset += 2; // Past CRLF.
            var rest = head[offset..];
            var length = rest.IndexOf((byte)'\r');
            line = length < 0 ? rest : rest[..length];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || line[..colon].IndexOfAny((byte)' ', (byte)'\t') >= 0
                || (length >= 0 && (length + 1 >= rest.Length || rest[length + 1] != '\n')))
            {
                return null; // Obsolete line folding or a malformed header: HTTP/1 answers it with 400.
            }

            var name = line[..colon];
            var raw = line[(colon + 1)..];
            var value = raw.Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(name, "upgrade"u8))
            {
                upgrade |= HasToken(value, "websocket"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                connection |= HasToken(value, "upgrade"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "sec-websocket-version"u8))
            {
                version = value.SequenceEqual("13"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "sec-websocket-key"u8))
            {
                keyStart = value.Length == 24
                    && Base64.DecodeFromUtf8(value, decoded, out _, out var written) == OperationStatus.Done && written == 16
                    ? offset + colon + 1 + (raw.Length - raw.TrimStart(" \t"u8).Length)
                    : -1;
            }
            else if (Ascii.EqualsIgnoreCase(name, "host"u8))
            {
                hosts++;
            }

            offset = length < 0 ? -1 : offset + length;
        }

        return upgrade && connection && version && keyStart >= 0 && hosts == 1 ? keyStart : null;
    }

    private static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (var range in value.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(value[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The head's headers as a collection, and its request target.</summary>
    private static HeaderDictionary ParseHeaders(byte[] head, out string target)
    {
        var lines = Encoding.Latin1.GetString(head).Split("\r\n");
        target = lines[0].Split(' ') is { Length: 3 } parts ? parts[1] : "/";
        var headers = new HeaderDictionary();
        for (var i = 1; i < lines.Length; i++)
        {
            var colon = lines[i].IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            var name = lines[i][..colon];
            var value = lines[i][(colon + 1)..].Trim(' ', '\t');
            headers[name] = headers.TryGetValue(name, out var existing) ? StringValues.Concat(existing, value) : value;
        }

        return headers;
    }
}
