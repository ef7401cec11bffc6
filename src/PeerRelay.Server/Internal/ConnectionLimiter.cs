using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Counts open connections in total and per client address, and refuses one over
/// <see cref="RelayServerOptions.MaxConnections"/> or <see cref="RelayServerOptions.MaxConnectionsPerIp"/> before
/// the WebSocket upgrade, so a connection storm from one address cannot take the slots of everyone else.
/// IPv6 addresses count per /64 prefix: one host usually holds a whole /64.
/// </summary>
internal sealed partial class ConnectionLimiter(
    IOptions<RelayServerOptions> options,
    RelayMetrics metrics,
    ILogger<ConnectionLimiter> logger)
{
    private readonly Dictionary<IPAddress, int> _perAddress = [];
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

    public ConnectionAdmission TryAdmit(IPAddress? address)
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

            var current = 0;
            if (key is not null && _perAddress.TryGetValue(key, out current) && current >= settings.MaxConnectionsPerIp)
            {
                metrics.LimitHit("max_connections_per_ip");
                if (_perAddressLog.ShouldLog(out var skipped))
                {
                    Log.TooManyFromAddress(logger, address!, settings.MaxConnectionsPerIp, skipped);
                }

                return ConnectionAdmission.TooManyFromAddress;
            }

            if (key is not null)
            {
                _perAddress[key] = current + 1;
            }

            _total++;
            return ConnectionAdmission.Admitted;
        }
    }

    /// <summary>Releases a connection admitted for <paramref name="address"/>.</summary>
    public void Release(IPAddress? address)
    {
        var key = address is null ? null : KeyOf(address);
        lock (_lock)
        {
            _total--;
            if (key is not null && _perAddress.TryGetValue(key, out var current))
            {
                if (current <= 1)
                {
                    _perAddress.Remove(key);
                }
                else
                {
                    _perAddress[key] = current - 1;
                }
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

    private static partial class Log
    {
        [LoggerMessage(400, LogLevel.Warning, "Refused a connection from {Address}: the relay holds max_connections ({Limit}) connections; accepted and closed it with 1013 ({Skipped} more refusals not logged)")]
        public static partial void TooManyConnections(ILogger logger, IPAddress? address, int limit, int skipped);

        [LoggerMessage(401, LogLevel.Warning, "Refused a connection from {Address}: it holds max_connections_per_ip ({Limit}) connections; accepted and closed it with 1013 ({Skipped} more refusals not logged)")]
        public static partial void TooManyFromAddress(ILogger logger, IPAddress address, int limit, int skipped);
    }
}
