using Microsoft.Extensions.Options;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Internal;

namespace PeerRelay.Server.Routing;

/// <summary>
/// The registry of one node: which connection of this process holds each UUID, and how many UUIDs each user holds.
/// Lookups are lock-free; changes take one lock so that take-overs and releases never interleave. A connection holds
/// at most one UUID. The default <see cref="IRelayRegistry"/>, and the local part of the Redis scale-out.
/// </summary>
public sealed class LocalRelayRegistry : IRelayRegistry
{
    private readonly UuidTable _byUuid = new(); // Open addressing over the connections: no node per client.
    private readonly Dictionary<RelayUser, int> _clientsPerUser = [];
    private readonly Lock _lock = new();
    private readonly int _maxClientsPerUser;

    /// <summary>Initializes a new instance of the <see cref="LocalRelayRegistry"/> class with the relay's options.</summary>
    /// <param name="options">The relay's options (<see cref="RelayServerOptions.MaxClientsPerUser"/>).</param>
    public LocalRelayRegistry(IOptions<RelayServerOptions> options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value.MaxClientsPerUser)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LocalRelayRegistry"/> class.</summary>
    /// <param name="maxClientsPerUser">The most UUIDs one authenticated user may hold; 0: no limit (the caller enforces one).</param>
    public LocalRelayRegistry(int maxClientsPerUser)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxClientsPerUser);
        _maxClientsPerUser = maxClientsPerUser;
    }

    /// <summary>Gets the number of UUIDs registered on this node.</summary>
    public int Count => _byUuid.Count;

    /// <summary>Gets how many UUIDs <paramref name="user"/> holds on this node (the anonymous user is not counted).</summary>
    /// <param name="user">The user.</param>
    /// <returns>The count.</returns>
    public int ClientsOf(RelayUser user)
    {
        lock (_lock)
        {
            return _clientsPerUser.GetValueOrDefault(user);
        }
    }

    /// <summary>Copies the connections that hold a UUID on this node.</summary>
    /// <returns>The connections, at most <see cref="Count"/> of them.</returns>
    public List<IRelayClient> SnapshotClients()
    {
        return _byUuid.Snapshot();
    }

    /// <inheritdoc />
    public IRelayClient? Find(Guid uuid) => _byUuid.Find(uuid);

    /// <inheritdoc />
    public ValueTask<RelayRegistrationResult> RegisterAsync(IRelayClient client, RelayClientRegistration registration, CancellationToken cancellationToken = default) =>
        new(Register(client, registration));

    /// <summary>The synchronous <see cref="RegisterAsync"/>: never waits; a displaced socket is returned, not closed.</summary>
    /// <param name="client">The connection that registers.</param>
    /// <param name="registration">What it registers as.</param>
    /// <returns>The outcome.</returns>
    public RelayRegistrationResult Register(IRelayClient client, RelayClientRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(registration);
        var user = registration.User;
        lock (_lock)
        {
            var existing = _byUuid.Find(registration.Uuid);
            if (existing == client)
            {
                client.Registration = registration;
                return new(RelayRegistrationStatus.Repeated);
            }

            if (existing is not null && existing.Registration?.User != user)
            {
                return new(RelayRegistrationStatus.ForeignUuid);
            }

            var previous = client.Registration;
            if (existing is null && _maxClientsPerUser > 0 && user != RelayUser.Anonymous && previous?.User != user
                && _clientsPerUser.GetValueOrDefault(user) >= _maxClientsPerUser)
            {
                // A take-over moves the slot and a socket that registers another UUID keeps its own: neither is refused.
                return new(RelayRegistrationStatus.TooManyClients);
            }

            if (existing is not null)
            {
                UncountClient(existing.Registration!.User);
                existing.Registration = null;
            }

            if (previous is not null && _byUuid.Remove(previous.Uuid, client))
            {
                UncountClient(previous.User);
            }

            client.Registration = registration;
            if (existing is not null)
            {
                _byUuid.Replace(registration.Uuid, existing, client);
            }
            else
            {
                _byUuid.Add(registration.Uuid, client);
            }

            CountClient(user);
            return existing is null ? new(RelayRegistrationStatus.Registered) : new(RelayRegistrationStatus.TookOver, existing);
        }
    }

    /// <inheritdoc />
    public RelayClientRegistration? Release(IRelayClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        lock (_lock)
        {
            var registration = client.Registration;
            if (registration is null)
            {
                return null;
            }

            client.Registration = null;
            if (!_byUuid.Remove(registration.Uuid, client))
            {
                return null;
            }

            UncountClient(registration.User);
            return registration;
        }
    }

    /// <inheritdoc />
    public ValueTask<RelayDeliveryStatus> DeliverAsync(RelayClientRegistration source, Guid peer, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        new(RelayDeliveryStatus.UnknownPeer);

    /// <inheritdoc />
    public async ValueTask<bool> CloseAsync(Guid uuid, int code, string reason, CancellationToken cancellationToken = default)
    {
        if (Find(uuid) is not { } client)
        {
            return false;
        }

        await client.CloseAsync(code, reason).WaitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    private void CountClient(RelayUser user)
    {
        if (user != RelayUser.Anonymous)
        {
            _clientsPerUser[user] = _clientsPerUser.GetValueOrDefault(user) + 1;
        }
    }

    private void UncountClient(RelayUser user)
    {
        if (user == RelayUser.Anonymous)
        {
            return;
        }

        var count = _clientsPerUser.GetValueOrDefault(user);
        if (count <= 1)
        {
            _clientsPerUser.Remove(user);
        }
        else
        {
            _clientsPerUser[user] = count - 1;
        }
    }
}
