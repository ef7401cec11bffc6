using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Counts open connections in total and per client address, and refuses one over
/// <see cref="RelayServerOptions.MaxConnections"/> or <see cref="RelayServerOptions.MaxConnectionsPerIp"/> before
/// the WebSocket upgrade, so a connection storm from one address cannot take the slots of everyone else. New
/// connections per address also pay from a token bucket (<see cref="RelayServerOptions.NewConnectionRate"/>,
/// <see cref="RelayServerOptions.NewConnectionBurst"/>), and an address whose connection was closed for abuse (1008)
/// is refused for <see cref="RelayServerOptions.AbusePenalty"/>: a client cut for flooding cannot come straight back
/// with a fresh burst (issue 13). IPv6 addresses count per /64 prefix: one host usually holds a whole /64.
/// </summary>
internal sealed partial class ConnectionLimiter(
    IOptions<RelayServerOptions> options,
    RelayMetrics metrics,
    ILogger<ConnectionLimiter> logger,
    TimeProvider? timeProvider = null)
{
    /// <summary>How many addresses' buckets are kept before the full ones (and ended penalties) are swept out.</summary>
    private const int SweepAbove = 1024;

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly Dictionary<IPAddress, Holders> _perAddress = [];
    private readonly Dictionary<IPAddress, AddressState> _recent = [];
    private readonly LogThrottle _tooFastLog = new();
    private readonly LogThrottle _penaltyLog = new();
    private long _nextSweep;
    private readonly Lock _lock = new();
    private readonly LogThrottle _totalLog = new();
    private readonly LogThrottle _perAddressLog = new();
    private int _total;

    /// <summary>Gets the number of admitted connections not yet released.</summary>
    public int Count => Volatile.Read(ref _total);

    /// <summary>Gets the number of distinct client addresses (or IPv6 /64 prefixes) holding a connection.</summary>
    public int AddressCount
    {
        get
        {
            lock (_lock)
            {
                return _perAddress.Count;
            }
        }
    }

    public ConnectionAdmission TryAdmit(IPAddress? address) => TryAdmit(ref address);

    /// <summary>
    /// Admits a connection from <paramref name="address"/> as <see cref="TryAdmit(IPAddress?)"/> does; when admitted,
    /// <paramref name="address"/> becomes the instance already kept for an equal address that holds connections, so
    /// that the connections of one address share one <see cref="IPAddress"/> (40 bytes less per idle client).
    /// </summary>
    public ConnectionAdmission TryAdmit(ref IPAddress? address)
    {
        var settings = options.Value;
        var key = address is null ? null : KeyOf(address);
        lock (_lock)
        {
            if (_total >= settings.MaxConnections)
            {
                metrics.LimitHit("max_connections");
                if (_totalLog.ShouldLog(out var skipped))
                {
                    Log.TooManyConnections(logger, address, settings.MaxConnections, skipped);
                }

                return ConnectionAdmission.TooManyConnections;
            }

            var holders = default(Holders);
            if (key is not null && _perAddress.TryGetValue(key, out holders) && holders.Count >= settings.MaxConnectionsPerIp)
            {
                metrics.LimitHit("max_connections_per_ip");
                if (_perAddressLog.ShouldLog(out var skipped))
                {
                    Log.TooManyFromAddress(logger, address!, settings.MaxConnectionsPerIp, skipped);
                }

                return ConnectionAdmission.TooManyFromAddress;
            }

            if (key is not null && Refused(key, address!, settings) is { } refused)
            {
                return refused;
            }

            if (key is not null)
            {
                if (holders.Address is { } kept && kept.Equals(address))
                {
                    address = kept;
                }

                _perAddress[key] = new Holders(holders.Address ?? address!, holders.Count + 1);
            }

            _total++;
            return ConnectionAdmission.Admitted;
        }
    }

    /// <summary>
    /// Releases a connection admitted for <paramref name="address"/>; when it was closed for abuse (1008), the
    /// address is refused new connections for <see cref="RelayServerOptions.AbusePenalty"/>.
    /// </summary>
    public void Release(IPAddress? address, bool abusive = false)
    {
        var key = address is null ? null : KeyOf(address);
        var penalty = options.Value.AbusePenalty;
        lock (_lock)
        {
            if (abusive && key is not null && penalty > TimeSpan.Zero)
            {
                var state = _recent.GetValueOrDefault(key) ?? NewState(options.Value);
                state.PenaltyUntil = _time.GetTimestamp() + (long)(penalty.TotalSeconds * _time.TimestampFrequency);
                _recent[key] = state;
            }

            _total--;
            if (key is not null && _perAddress.TryGetValue(key, out var holders))
            {
                if (holders.Count <= 1)
                {
                    _perAddress.Remove(key);
                }
                else
                {
                    _perAddress[key] = holders with { Count = holders.Count - 1 };
                }
            }
        }
    }

    /// <summary>The per-address checks on a new connection (under the lock): penalty, then the token bucket.</summary>
    private ConnectionAdmission? Refused(IPAddress key, IPAddress address, RelayServerOptions settings)
    {
        var now = _time.GetTimestamp();
        Sweep(now, settings);
        _recent.TryGetValue(key, out var state);
        if (state is not null && state.PenaltyUntil > now)
        {
            metrics.LimitHit("abuse_penalty");
            if (_penaltyLog.ShouldLog(out var skipped))
            {
                Log.Penalized(logger, address, settings.AbusePenalty.TotalSeconds, skipped);
            }

            return ConnectionAdmission.Penalized;
        }

        if (settings.NewConnectionRate <= 0)
        {
            return null;
        }

        if (state is null)
        {
            state = NewState(settings);
            _recent[key] = state;
        }

        state.Tokens = Math.Min(settings.NewConnectionBurst, state.Tokens + (now - state.Refilled) * settings.NewConnectionRate / _time.TimestampFrequency);
        state.Refilled = now;
        if (state.Tokens < 1)
        {
            metrics.LimitHit("new_connection_rate");
            if (_tooFastLog.ShouldLog(out var skipped))
            {
                Log.ConnectingTooFast(logger, address, settings.NewConnectionRate, settings.NewConnectionBurst, skipped);
            }

            return ConnectionAdmission.ConnectingTooFast;
        }

        state.Tokens--;
        return null;
    }

    private AddressState NewState(RelayServerOptions settings) =>
        new() { Tokens = settings.NewConnectionBurst, Refilled = _time.GetTimestamp() };

    /// <summary>
    /// Forgets addresses whose bucket is full again and whose penalty is over, at most once a second and only while
    /// many are kept: what an address costs is bounded by how recently it connected.
    /// </summary>
    private void Sweep(long now, RelayServerOptions settings)
    {
        if (_recent.Count <= SweepAbove || now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + _time.TimestampFrequency;
        foreach (var (address, state) in _recent)
        {
            var full = settings.NewConnectionRate <= 0
                || state.Tokens + (now - state.Refilled) * settings.NewConnectionRate / _time.TimestampFrequency >= settings.NewConnectionBurst;
            if (full && state.PenaltyUntil <= now)
            {
                _recent.Remove(address);
            }
        }
    }

    private static IPAddress KeyOf(IPAddress address)
    {
        address = ClientAddressResolver.Normalize(address);
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    /// <summary>An address's new-connection bucket and penalty.</summary>
    private sealed class AddressState
    {
        public double Tokens { get; set; }

        public long Refilled { get; set; }

        public long PenaltyUntil { get; set; }
    }

    /// <summary>The connections held by one address (or IPv6 /64 prefix), and the first address admitted for it, which equal addresses share.</summary>
    private readonly record struct Holders(IPAddress Address, int Count);

    private static partial class Log
    {
        [LoggerMessage(402, LogLevel.Warning, "Refused a connection from {Address}: over new_connection_rate ({Rate}/s, burst {Burst}); accepted and closed it with 1013 ({Skipped} more refusals not logged)")]
        public static partial void ConnectingTooFast(ILogger logger, IPAddress address, double rate, int burst, int skipped);

        [LoggerMessage(403, LogLevel.Warning, "Refused a connection from {Address}: a connection from it was closed for abuse (1008) less than abuse_penalty ({Seconds} s) ago; accepted and closed it with 1013 ({Skipped} more refusals not logged)")]
        public static partial void Penalized(ILogger logger, IPAddress address, double seconds, int skipped);

        [LoggerMessage(400, LogLevel.Warning, "Refused a connection from {Address}: the relay holds max_connections ({Limit}) connections; accepted and closed it with 1013 ({Skipped} more refusals not logged)")]
        public static partial void TooManyConnections(ILogger logger, IPAddress? address, int limit, int skipped);

        [LoggerMessage(401, LogLevel.Warning, "Refused a connection from {Address}: it holds max_connections_per_ip ({Limit}) connections; accepted and closed it with 1013 ({Skipped} more refusals not logged)")]
        public static partial void TooManyFromAddress(ILogger logger, IPAddress address, int limit, int skipped);
    }
}
