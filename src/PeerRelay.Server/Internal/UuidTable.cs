using System.Runtime.InteropServices;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Internal;

/// <summary>
/// The UUID → connection map of a <see cref="LocalRelayRegistry"/>: open addressing (linear probing) over the
/// connections themselves, each found by its own <see cref="IRelayClient.Registration"/>'s UUID, so that an entry costs
/// one array slot (8 bytes, the array between a third and two thirds full: 12–24 bytes per client) instead of a dictionary node and its
/// bucket (about 70 bytes). Lookups are lock-free; every change is made under the registry's lock, which also guards
/// <see cref="IRelayClient.Registration"/>. A removed entry leaves a marker, so that a lookup racing with a change
/// never stops short of an entry further on; a lookup racing with a change sees the entry before or after it. The hash
/// mixes all 128 bits of the UUID with a per-process random key, so that clients cannot choose UUIDs that collide.
/// </summary>
internal sealed class UuidTable
{
    private const int MinCapacity = 16;
    private static readonly IRelayClient Removed = new RemovedEntry();
    private static readonly ulong s_key0 = (ulong)Random.Shared.NextInt64() | 1;
    private static readonly ulong s_key1 = (ulong)Random.Shared.NextInt64() | 1;

    private IRelayClient?[] _slots = new IRelayClient?[MinCapacity];
    private int _count; // Entries.
    private int _used; // Entries and removal markers: kept at most two thirds of the slots, so every probe ends at an empty slot.

    /// <summary>Gets the number of entries.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Finds the connection that holds <paramref name="uuid"/>, or null. Lock-free.</summary>
    public IRelayClient? Find(Guid uuid)
    {
        var slots = Volatile.Read(ref _slots);
        var mask = slots.Length - 1;
        for (var i = Hash(uuid) & mask; ; i = (i + 1) & mask)
        {
            var client = Volatile.Read(ref slots[i]);
            if (client is null)
            {
                return null;
            }

            if (client.Registration is { } registration && registration.Uuid == uuid)
            {
                return client;
            }
        }
    }

    /// <summary>Adds <paramref name="client"/> under <paramref name="uuid"/>, which no entry holds (under the lock).</summary>
    public void Add(Guid uuid, IRelayClient client)
    {
        if ((_used + 1) * 3 > _slots.Length * 2)
        {
            Rebuild();
        }

        var slots = _slots;
        var mask = slots.Length - 1;
        var i = Hash(uuid) & mask;
        while (slots[i] is { } taken && !ReferenceEquals(taken, Removed))
        {
            i = (i + 1) & mask;
        }

        if (slots[i] is null)
        {
            _used++;
        }

        Volatile.Write(ref slots[i], client);
        Volatile.Write(ref _count, _count + 1);
    }

    /// <summary>Puts <paramref name="replacement"/> in the place of <paramref name="holder"/>, the entry for <paramref name="uuid"/> (under the lock).</summary>
    public void Replace(Guid uuid, IRelayClient holder, IRelayClient replacement)
    {
        var index = IndexOf(uuid, holder);
        if (index < 0)
        {
            Add(uuid, replacement);
            return;
        }

        Volatile.Write(ref _slots[index], replacement);
    }

    /// <summary>Removes the entry of <paramref name="client"/> under <paramref name="uuid"/>; false when it is not there (under the lock).</summary>
    public bool Remove(Guid uuid, IRelayClient client)
    {
        var index = IndexOf(uuid, client);
        if (index < 0)
        {
            return false;
        }

        Volatile.Write(ref _slots[index], Removed);
        Volatile.Write(ref _count, _count - 1);
        if (_count == 0 && _slots.Length > MinCapacity)
        {
            Volatile.Write(ref _slots, new IRelayClient?[MinCapacity]);
            _used = 0;
        }

        return true;
    }

    /// <summary>Copies the entries' connections (a lock-free snapshot).</summary>
    public List<IRelayClient> Snapshot()
    {
        var slots = Volatile.Read(ref _slots);
        var list = new List<IRelayClient>(Count);
        foreach (var client in slots)
        {
            if (client is not null && !ReferenceEquals(client, Removed))
            {
                list.Add(client);
            }
        }

        return list;
    }

    private static int Hash(Guid uuid)
    {
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<Guid>(in uuid));
        var h = (MemoryMarshal.Read<ulong>(bytes) ^ s_key0) * 0x9E3779B97F4A7C15UL;
        h = (h ^ (h >> 29) ^ MemoryMarshal.Read<ulong>(bytes[8..]) ^ s_key1) * 0xBF58476D1CE4E5B9UL;
        return (int)(h >> 32) & int.MaxValue;
    }

    /// <summary>The slot of <paramref name="client"/>'s entry for <paramref name="uuid"/>, or -1 (under the lock).</summary>
    private int IndexOf(Guid uuid, IRelayClient client)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        for (var i = Hash(uuid) & mask; slots[i] is { } entry; i = (i + 1) & mask)
        {
            if (ReferenceEquals(entry, client))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>A new array for the entries, without the removal markers, at most half full (under the lock).</summary>
    private void Rebuild()
    {
        var capacity = MinCapacity;
        while (capacity < (_count + 1) * 2)
        {
            capacity *= 2;
        }

        var slots = new IRelayClient?[capacity];
        var mask = capacity - 1;
        foreach (var client in _slots)
        {
            if (client is null || ReferenceEquals(client, Removed))
            {
                continue;
            }

            // Under the lock every entry's registration is its key.
            var i = Hash(client.Registration!.Uuid) & mask;
            while (slots[i] is not null)
            {
                i = (i + 1) & mask;
            }

            slots[i] = client;
        }

        _used = _count;
        Volatile.Write(ref _slots, slots);
    }

    /// <summary>The marker a removed entry leaves: holds nothing, matches no UUID.</summary>
    private sealed class RemovedEntry : IRelayClient
    {
        public long Id => -1;

        public RelayClientRegistration? Registration
        {
            get => null;
            set => throw new InvalidOperationException("A removed entry holds nothing.");
        }

        public bool IsClosing => true;

        public RelayDeliveryStatus Send(ReadOnlySpan<byte> utf8Json) => RelayDeliveryStatus.PeerClosed;

        public Task CloseAsync(int code, string reason) => Task.CompletedTask;
    }
}
