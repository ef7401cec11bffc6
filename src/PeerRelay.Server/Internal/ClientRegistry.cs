using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Every open connection of this node, registered or not: for the sweeps over every client (keep-alive, registration
/// deadline, drain, the client list). Who holds which UUID is the <see cref="IRelayRegistry"/>'s. A slot array (each
/// connection knows its slot): about 12 bytes per connection where a concurrent dictionary's node and bucket took 60.
/// Adding and removing take a lock; enumerating does not (it sees the array as it was, as a concurrent dictionary's
/// enumeration may).
/// </summary>
internal sealed class ClientRegistry
{
    private readonly Lock _lock = new();
    private readonly Stack<int> _freeSlots = new();
    private RelayConnection?[] _slots = new RelayConnection?[256];
    private int _nextSlot;
    private int _count;

    /// <summary>Gets the number of open connections, registered or not.</summary>
    public int ConnectionCount => Volatile.Read(ref _count);

    /// <summary>Gets the number of open connections that hold a UUID (counted: for the periodic client list only).</summary>
    public int RegisteredCount
    {
        get
        {
            var count = 0;
            foreach (var connection in EnumerateConnections())
            {
                if (connection.Registration is not null)
                {
                    count++;
                }
            }

            return count;
        }
    }

    public void AddConnection(RelayConnection connection)
    {
        lock (_lock)
        {
            if (connection.ClientSlot >= 0)
            {
                return;
            }

            if (!_freeSlots.TryPop(out var slot))
            {
                slot = _nextSlot++;
                if (slot == _slots.Length)
                {
                    var slots = _slots;
                    Array.Resize(ref slots, slot * 2);
                    Volatile.Write(ref _slots, slots); // Published with its entries: enumeration reads it without the lock.
                }
            }

            connection.ClientSlot = slot;
            Volatile.Write(ref _slots[slot], connection);
            _count++;
        }
    }

    /// <summary>Removes the connection. Idempotent.</summary>
    public void Remove(RelayConnection connection)
    {
        lock (_lock)
        {
            var slot = connection.ClientSlot;
            if (slot < 0 || _slots[slot] != connection)
            {
                return;
            }

            Volatile.Write(ref _slots[slot], null);
            connection.ClientSlot = -1;
            _freeSlots.Push(slot);
            _count--;
        }
    }

    /// <summary>Enumerates the open connections without copying them (for the periodic sweeps over every client).</summary>
    public IEnumerable<RelayConnection> EnumerateConnections()
    {
        var slots = Volatile.Read(ref _slots);
        for (var i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i]) is { } connection)
            {
                yield return connection;
            }
        }
    }

    /// <summary>Counts the distinct users with a registered client (read when metrics are collected, not per message).</summary>
    public int CountUsers()
    {
        var users = new HashSet<Authentication.RelayUser>();
        foreach (var connection in EnumerateConnections())
        {
            if (connection.Registration is { } registration)
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
        foreach (var connection in EnumerateConnections())
        {
            if (list.Count >= max)
            {
                break;
            }

            if (connection.Registration is { } registration)
            {
                list.Add(registration);
            }
        }

        return list;
    }
}
