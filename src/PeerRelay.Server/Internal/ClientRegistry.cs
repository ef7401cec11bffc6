using System.Collections.Concurrent;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Every open connection of this node, registered or not: for the sweeps over every client (keep-alive, registration
/// deadline, drain, the client list). Who holds which UUID is the <see cref="IRelayRegistry"/>'s.
/// </summary>
internal sealed class ClientRegistry
{
    private readonly ConcurrentDictionary<long, RelayConnection> _connections = new();

    /// <summary>Gets the number of open connections, registered or not.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Gets the number of open connections that hold a UUID (counted: for the periodic client list only).</summary>
    public int RegisteredCount
    {
        get
        {
            var count = 0;
            foreach (var entry in _connections)
            {
                if (entry.Value.Registration is not null)
                {
                    count++;
                }
            }

            return count;
        }
    }

    public void AddConnection(RelayConnection connection) => _connections[connection.Id] = connection;

    /// <summary>Removes the connection. Idempotent.</summary>
    public void Remove(RelayConnection connection) => _connections.TryRemove(connection.Id, out _);

    /// <summary>Enumerates the open connections without copying them (for the periodic sweeps over every client).</summary>
    public IEnumerable<RelayConnection> EnumerateConnections()
    {
        foreach (var entry in _connections)
        {
            yield return entry.Value;
        }
    }

    /// <summary>Counts the distinct users with a registered client (read when metrics are collected, not per message).</summary>
    public int CountUsers()
    {
        var users = new HashSet<Authentication.RelayUser>();
        foreach (var pair in _connections)
        {
            if (pair.Value.Registration is { } registration)
            {
                users.Add(registration.User);
            }
        }

        return users.Count;
    }

    /// <summary>Returns up to <paramref name="max"/> current registrations, for the periodic client list.</summary>
    public List<RelayClientRegistration> SnapshotRegistrations(int max)
    {
        var list = new List<RelayClientRegistration>();
        foreach (var pair in _connections)
        {
            if (list.Count >= max)
            {
                break;
            }

            if (pair.Value.Registration is { } registration)
            {
                list.Add(registration);
            }
        }

        return list;
    }
}
