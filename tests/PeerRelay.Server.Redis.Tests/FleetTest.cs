using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>A test class whose tests each start a fleet (<see cref="RelayFleet"/>); it is killed after each test.</summary>
public abstract class FleetTest : IAsyncLifetime
{
    /// <summary>Gets the fleet started by <see cref="StartFleetAsync"/>.</summary>
    protected RelayFleet Fleet { get; private set; } = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (Fleet is not null)
        {
            await Fleet.DisposeAsync();
        }
    }

    /// <summary>Starts Redis and <paramref name="nodes"/> nodes (<see cref="RelayFleet.StartAsync"/>).</summary>
    protected async Task StartFleetAsync(int nodes = 3, string clusterToml = "") => Fleet = await RelayFleet.StartAsync(nodes, clusterToml: clusterToml);

    /// <summary>Gets node <paramref name="i"/> (1-based: node-1 is <c>Node(1)</c>).</summary>
    protected RelayProcess Node(int i) => Fleet.Nodes[i - 1];
}
