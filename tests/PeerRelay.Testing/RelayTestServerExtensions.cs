using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Server.Internal;

namespace PeerRelay.Testing;

/// <summary>Reads the server's state, to check that nothing is left behind.</summary>
public static class RelayTestServerExtensions
{
    /// <summary>Registered UUIDs right now.</summary>
    public static int RegisteredCount(this RelayTestServer server) => server.Services.GetRequiredService<ClientRegistry>().RegisteredCount;

    /// <summary>Open connections right now, registered or not.</summary>
    public static int ConnectionCount(this RelayTestServer server) => server.Services.GetRequiredService<ClientRegistry>().ConnectionCount;

    /// <summary>The registered UUIDs right now.</summary>
    public static IReadOnlyList<Guid> RegisteredUuids(this RelayTestServer server) =>
        server.Services.GetRequiredService<ClientRegistry>().SnapshotRegistrations(int.MaxValue).Select(r => r.Uuid).ToList();
}
