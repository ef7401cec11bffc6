using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>
/// Issue 14, "no UUID held on two nodes", when a take-over's close request cannot reach the old node although that node
/// is alive: its channel connection dropped and cannot subscribe again for a while (here Redis takes the channel rights
/// of the node's user away, which also drops its subscription; a real gap is a reconnect after a network blip).
/// </summary>
public sealed class ChannelGapTakeOverTests
{
    private const string AdminPassword = "admin-Secret-4711";

    [Fact]
    public async Task TakeOver_WhileTheOldNodeCannotHearItsChannel_IsRetried_AndTheOldSocketGets4004OnceTheNodeHearsAgain()
    {
        await using var redis = await RedisServer.StartAsync(new RedisServerOptions { Password = AdminPassword });
        foreach (var user in (string[])["taker", "quiet"])
        {
            Assert.Equal("OK", await redis.CliAsync("ACL", "SETUSER", user, "on", $">{user}-Secret-1", "~*", "&*", "+@all"));
        }

        await using var fleet = await RelayFleet.StartOnRedisAsync($"{redis.Configuration},user=taker,password=taker-Secret-1", 1);
        var taker = fleet.Nodes[0];
        var quiet = await fleet.StartNodeAsync("node-quiet", clusterToml: $"redis = \"{redis.Configuration},user=quiet,password=quiet-Secret-1\"");

        var b = Guid.NewGuid();
        await using var bob = await FleetClients.RegisteredAsync(quiet, b, "bob");
        var bobClosed = bob.ReceiveUntilCloseAsync(TimeSpan.FromMinutes(2)); // Reads all along, as real clients do.

        // The quiet node loses its channel and cannot subscribe again.
        Assert.Equal("OK", await redis.CliAsync("ACL", "SETUSER", "quiet", "resetchannels"));
        await quiet.WaitForLineAsync(l => l.Contains("Lost the node's own Redis connection for its channel", StringComparison.Ordinal));

        // A take-over on the other node: its close request reaches no one while the quiet node's lease lives, so it is
        // published again until the wait for the old socket runs out; then the new registration is confirmed.
        await using var bobAgain = await FleetClients.RegisteredAsync(taker, b, "bob-again");
        Assert.Contains("its channel has no subscriber yet", taker.Output, StringComparison.Ordinal);
        Assert.Contains($"Could not ask node node-quiet to close the socket of {b}", taker.Output, StringComparison.Ordinal);
        Assert.False(bobClosed.IsCompleted, "the old socket was closed although its node could not hear the request");

        // The node hears again: it claims its registrations again at its next heartbeat, finds the UUID held by the
        // other node, and closes the old socket with 4004 (ProxyStore's client gives up on it, as for any take-over).
        Assert.Equal("OK", await redis.CliAsync("ACL", "SETUSER", "quiet", "&*"));
        Assert.Equal(4004, (await bobClosed).Code);

        // The UUID is held once, by the new socket: a message for it from a client of the quiet node arrives there.
        var a = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(quiet, a, "alice");
        await FleetClients.AssertExchangeAsync(alice, a, bobAgain, b, "after the gap", bobName: "bob-again");
        Assert.Equal("1", await redis.CliAsync("EXISTS", $"{{peerrelay}}:c:{b}"));
    }
}
