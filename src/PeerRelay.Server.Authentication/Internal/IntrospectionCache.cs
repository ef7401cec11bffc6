using System.Security.Cryptography;
using System.Text;

namespace PeerRelay.Server.Authentication.Internal;

/// <summary>
/// Introspection results by token, bounded in size. Keyed by the SHA-256 of the token, so the cache never holds a
/// token itself. Thread-safe.
/// </summary>
internal sealed class IntrospectionCache(int capacity)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<TokenKey, Entry> _entries = [];

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public static TokenKey KeyOf(string token)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var length = Encoding.UTF8.GetMaxByteCount(token.Length);
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = Encoding.UTF8.GetBytes(token, rented);
            SHA256.HashData(rented.AsSpan(0, written), hash);
            CryptographicOperations.ZeroMemory(rented.AsSpan(0, written));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        return new TokenKey(
            BitConverter.ToUInt64(hash[..8]),
            BitConverter.ToUInt64(hash[8..16]),
            BitConverter.ToUInt64(hash[16..24]),
            BitConverter.ToUInt64(hash[24..]));
    }

    public bool TryGet(TokenKey key, DateTimeOffset now, out RelayAuthResult result)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var entry))
            {
                if (entry.Expires > now)
                {
                    result = entry.Result;
                    return true;
                }

                _entries.Remove(key);
            }
        }

        result = default;
        return false;
    }

    public void Set(TokenKey key, RelayAuthResult result, DateTimeOffset expires, DateTimeOffset now)
    {
        if (expires <= now)
        {
            return;
        }

        lock (_lock)
        {
            if (!_entries.ContainsKey(key) && _entries.Count >= capacity)
            {
                MakeRoom(now);
            }

            _entries[key] = new Entry(result, expires);
        }
    }

    /// <summary>Drops every expired entry; when none was, drops the one that expires first.</summary>
    private void MakeRoom(DateTimeOffset now)
    {
        TokenKey? first = null;
        var firstExpires = DateTimeOffset.MaxValue;
        List<TokenKey>? expired = null;
        foreach (var (key, entry) in _entries)
        {
            if (entry.Expires <= now)
            {
                (expired ??= []).Add(key);
            }
            else if (entry.Expires < firstExpires)
            {
                first = key;
                firstExpires = entry.Expires;
            }
        }

        if (expired is not null)
        {
            foreach (var key in expired)
            {
                _entries.Remove(key);
            }
        }
        else if (first is { } oldest)
        {
            _entries.Remove(oldest);
        }
    }

    /// <summary>The SHA-256 of a token.</summary>
    public readonly record struct TokenKey(ulong A, ulong B, ulong C, ulong D);

    private readonly record struct Entry(RelayAuthResult Result, DateTimeOffset Expires);
}
