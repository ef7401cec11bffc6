using System.Collections.Concurrent;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Every open connection, and which connection holds each registered UUID. Lookups are lock-free; changes to the
/// UUID map take one lock so that take-overs and releases never interleave. A connection holds at most one UUID.
/// </summary>
internal sealed class ClientRegistry
{
    private readonly ConcurrentDictionary<Guid, RelayConnection> _byUuid = new();
    private readonly ConcurrentDictionary<long, RelayConnection> _connections = new();
    private readonly Lock _lock = new();

    /// <summary>Gets the number of registered UUIDs.</summary>
    public int RegisteredCount => _byUuid.Count;

    /// <summary>Gets the number of open connections, registered or not.</summary>
    public int ConnectionCount => _connections.Count;

    public void AddConnection(RelayConnection connection) => _connections[connection.Id] = connection;

    /// <summary>Enumerates the open connections without copying them (for the periodic sweeps over every client).</summary>
    public IEnumerable<RelayConnection> EnumerateConnections()
    {
        foreach (var entry in _connections)
        {
            yield return entry.Value;
        }
    }

    public RelayConnection? Find(Guid uuid) => _byUuid.TryGetValue(uuid, out var connection) ? connection : null;

    /// <summary>
    /// Registers <paramref name="connection"/> as <paramref name="registration"/>. Another user's UUID is refused; the
    /// same user's UUID on another connection is taken over, and that connection is returned in
    /// <paramref name="displaced"/> for the caller to close. A UUID the connection held before is released.
    /// </summary>
    public bool TryRegister(RelayConnection connection, Registration registration, out RelayConnection? displaced)
    {
        displaced = null;
        lock (_lock)
        {
            if (_byUuid.TryGetValue(registration.Uuid, out var existing) && existing != connection)
            {
                if (existing.Registration?.User != registration.User)
                {
                    return false;
                }

                displaced = existing;
                existing.Registration = null;
            }

            var previous = connection.Registration;
            if (previous is not null && previous.Uuid != registration.Uuid)
            {
                _byUuid.TryRemove(new KeyValuePair<Guid, RelayConnection>(previous.Uuid, connection));
            }

            connection.Registration = registration;
            _byUuid[registration.Uuid] = connection;
            return true;
        }
    }

    /// <summary>Removes the connection and releases its UUID, if it still holds one. Idempotent.</summary>
    /// <returns>The registration that was released, if any.</returns>
    public Registration? Remove(RelayConnection connection)
    {
        _connections.TryRemove(connection.Id, out _);
        return Release(connection);
    }

    /// <summary>
    /// Releases the connection's UUID but keeps the connection listed (it is still closing). Used when a client is
    /// dropped, so that messages for it fail at once instead of queueing behind the close.
    /// </summary>
    /// <returns>The registration that was released, if any.</returns>
    public Registration? Release(RelayConnection connection)
    {
        lock (_lock)
        {
            var registration = connection.Registration;
            if (registration is null)
            {
                return null;
            }

            connection.Registration = null;
            return _byUuid.TryRemove(new KeyValuePair<Guid, RelayConnection>(registration.Uuid, connection)) ? registration : null;
        }
    }

    /// <summary>Counts the distinct users with a registered client (read when metrics are collected, not per message).</summary>
    public int CountUsers()
    {
        var users = new HashSet<Authentication.RelayUser>();
        foreach (var pair in _byUuid)
        {
            if (pair.Value.Registration is { } registration)
            {
                users.Add(registration.User);
            }
        }

        return users.Count;
    }

    /// <summary>Returns the current registrations, for the periodic client list.</summary>
    public List<Registration> SnapshotRegistrations(int max)
    {
        var list = new List<Registration>();
        foreach (var pair in _byUuid)
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
