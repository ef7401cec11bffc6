using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>The admin API of a fleet's node lists every node and kicks a client on whichever node holds it.</summary>
public sealed class AdminFleetTests
{
    private const string Token = "fleet-admin-token-0123456789";

    [Fact]
    public async Task AdminApi_ListsEveryNode_AndKicksAClientOnAnotherNode()
    {
        await using var fleet = await RelayFleet.StartAsync(2, extraToml: $"admin_token = \"{Token}\"");
        var uuid = Guid.NewGuid();
        await using var client = await FleetClients.RegisteredAsync(fleet.Nodes[1], uuid, "remote");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{fleet.Nodes[0].Port}/admin/api/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        // Each node reports itself with its heartbeat: node-2's client shows up in node-1's list.
        await TaskTimeoutExtensions.WaitUntilAsync(async () =>
        {
            var nodes = JsonNode.Parse(await http.GetStringAsync("nodes"))!["nodes"]!.AsArray();
            return nodes.Count == 2
                && nodes[0]!["id"]!.GetValue<string>() == "node-1" && nodes[0]!["is_local"]!.GetValue<bool>()
                && nodes[1]!["id"]!.GetValue<string>() == "node-2" && nodes[1]!["clients"]!.GetValue<int>() == 1;
        });

        // A kick through node-1 closes the client on node-2 (1008), and answers once that close completed.
        var kick = http.DeleteAsync($"clients/{uuid}");
        Assert.Equal(1008, (await client.ReceiveCloseAsync()).Code);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await kick.WithTimeout()).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.DeleteAsync($"clients/{uuid}")).StatusCode);
    }
}
