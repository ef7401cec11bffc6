using PeerRelay.Server.Authentication;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Tests;

/// <summary>
/// <see cref="LocalRelayRegistry"/> as a table (its UUID map is open addressing over the clients themselves): every
/// registered UUID is found through growth, removals and take-overs, and lock-free lookups of clients that stay
/// registered never miss while others come and go on another thread.
/// </summary>
public sealed class LocalRelayRegistryTests
{
    [Fact]
    public void ManyClients_RegisterReleaseAndTakeOver_EveryHolderFound()
    {
        var registry = new LocalRelayRegistry(0);
        var clients = Enumerable.Range(0, 5000).Select(i => new TableClient(i)).ToArray();
        var uuids = clients.Select(_ => Guid.NewGuid()).ToArray();
        for (var i = 0; i < clients.Length; i++)
        {
            Assert.Equal(RelayRegistrationStatus.Registered, registry.Register(clients[i], Registration(uuids[i])).Status);
        }

        Assert.Equal(clients.Length, registry.Count);
        for (var i = 0; i < clients.Length; i += 2)
        {
            Assert.Same(clients[i].Registration, registry.Release(clients[i]));
        }

        Assert.Equal(clients.Length / 2, registry.Count);
        for (var i = 0; i < clients.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? null : clients[i], registry.Find(uuids[i]));
        }

        // A take-over puts the new client in the holder's place; a client that registers another UUID leaves its old one.
        var taker = new TableClient(-1);
        Assert.Equal(RelayRegistrationStatus.TookOver, registry.Register(taker, Registration(uuids[1])).Status);
        Assert.Same(taker, registry.Find(uuids[1]));
        Assert.Null(clients[1].Registration);
        var moved = Guid.NewGuid();
        Assert.Equal(RelayRegistrationStatus.Registered, registry.Register(taker, Registration(moved)).Status);
        Assert.Null(registry.Find(uuids[1]));
        Assert.Same(taker, registry.Find(moved));
        Assert.Equal(clients.Length / 2, registry.Count);
        Assert.Equal(clients.Length / 2, registry.SnapshotClients().Count);

        // Emptied, then used again.
        foreach (var client in registry.SnapshotClients())
        {
            Assert.NotNull(registry.Release(client));
        }

        Assert.Equal(0, registry.Count);
        Assert.Empty(registry.SnapshotClients());
        Assert.Null(registry.Find(moved));
        Assert.Equal(RelayRegistrationStatus.Registered, registry.Register(clients[0], Registration(uuids[0])).Status);
        Assert.Same(clients[0], registry.Find(uuids[0]));
    }

    [Fact]
    public async Task Lookups_WhileOthersRegisterAndRelease_FindEveryStableClient()
    {
        var registry = new LocalRelayRegistry(0);
        var stable = Enumerable.Range(0, 200).Select(i => (Client: new TableClient(i), Uuid: Guid.NewGuid())).ToArray();
        foreach (var (client, uuid) in stable)
        {
            registry.Register(client, Registration(uuid));
        }

        using var stop = new CancellationTokenSource();
        var churn = Task.Run(() =>
        {
            // Grows the table past several rebuilds and back, leaving removal markers behind.
            var rounds = 0;
            while (!stop.IsCancellationRequested || rounds < 3)
            {
                var passing = Enumerable.Range(0, 3000).Select(i => new TableClient(10_000 + i)).ToArray();
                foreach (var client in passing)
                {
                    registry.Register(client, Registration(Guid.NewGuid()));
                }

                foreach (var client in passing)
                {
                    registry.Release(client);
                }

                rounds++;
            }
        });

        var lookups = 0;
        while (!churn.IsCompleted && lookups < 2_000_000)
        {
            var (client, uuid) = stable[lookups % stable.Length];
            Assert.Same(client, registry.Find(uuid));
            lookups++;
            if (lookups == 200_000)
            {
                stop.Cancel();
            }
        }

        stop.Cancel();
        await churn.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(stable.Length, registry.Count);
    }

    private static RelayClientRegistration Registration(Guid uuid) => new(uuid, "test", RelayUser.Anonymous);

    /// <summary>An <see cref="IRelayClient"/> as a registry holds it (what the Redis scale-out's clients implement too).</summary>
    private sealed class TableClient(long id) : IRelayClient
    {
        public long Id => id;

        public RelayClientRegistration? Registration { get; set; }

        public bool IsClosing => false;

        public RelayDeliveryStatus Send(ReadOnlySpan<byte> utf8Json) => RelayDeliveryStatus.Delivered;

        public Task CloseAsync(int code, string reason) => Task.CompletedTask;
    }
}
