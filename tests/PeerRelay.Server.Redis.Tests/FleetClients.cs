using System.Net.WebSockets;
using System.Text.Json.Nodes;
using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>Helpers for clients of a fleet.</summary>
internal static class FleetClients
{
    public static async Task<TestRelayClient> RegisteredAsync(RelayProcess node, Guid uuid, string name = "test", string? bearer = null)
    {
        var client = await TestRelayClient.ConnectAsync(node.Uri!, o =>
        {
            if (bearer is not null)
            {
                o.SetRequestHeader("Authorization", "Bearer " + bearer);
            }
        });
        await client.RegisterAsync(uuid, name);
        return client;
    }

    /// <summary>
    /// Sends one message each way between two registered clients (on different nodes) and checks that each arrives,
    /// stamped with the sender's identity, and that a UUID nobody holds gets the single-node error.
    /// </summary>
    public static async Task AssertExchangeAsync(
        TestRelayClient alice, Guid a, TestRelayClient bob, Guid b, string tag, string aliceName = "alice", string bobName = "bob")
    {
        await alice.SendToAsync(a, b, $"offer {tag}", sourceName: "forged");
        var atBob = await bob.ReceiveJsonAsync();
        Assert.Equal($"offer {tag}", atBob.Str("description"));
        Assert.Equal(a.ToString(), atBob.Str("source_uuid"));
        Assert.Equal(aliceName, atBob.Str("source_name"));
        Assert.Null(atBob["error"]);
        await bob.SendToAsync(b, a, $"answer {tag}");
        var atAlice = await alice.ReceiveJsonAsync();
        Assert.Equal($"answer {tag}", atAlice.Str("description"));
        Assert.Equal(bobName, atAlice.Str("source_name"));
        var stranger = Guid.NewGuid();
        await alice.SendToAsync(a, stranger, "anyone?");
        Assert.StartsWith($"Cannot forward peer connection message to peer {stranger}", (await alice.ReceiveJsonAsync()).Str("error"));
    }

    /// <summary>
    /// Waits until a message from <paramref name="alice"/> reaches <paramref name="bob"/> across nodes (e.g. while the
    /// fleet follows a Redis failover): each probe is followed by a message to herself, so that alice reads, in order,
    /// the error a failed probe comes back with, then her own message; a probe without an error must reach bob. A probe
    /// that neither comes back nor arrives fails the test (lost). Returns how many probes came back with an error.
    /// </summary>
    public static async Task<int> AwaitForwardingAsync(TestRelayClient alice, Guid a, TestRelayClient bob, Guid b)
    {
        var failed = 0;
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        for (var n = 0; ; n++)
        {
            await alice.SendToAsync(a, b, $"probe {n}");
            await alice.SendToAsync(a, a, $"marker {n}");
            var first = await alice.ReceiveJsonAsync();
            if (first.Str("description") == $"marker {n}" && first["error"] is null)
            {
                // Delivered: bob gets it (after earlier probes that reached him although they came back with an error).
                while ((await bob.ReceiveJsonAsync()).Str("description") != $"probe {n}")
                {
                }

                return failed;
            }

            Assert.Equal($"probe {n}", first.Str("description"));
            Assert.NotNull(first.Str("error"));
            Assert.Equal($"marker {n}", (await alice.ReceiveJsonAsync()).Str("description"));
            failed++;
            if (deadline.Elapsed > TaskTimeoutExtensions.DefaultTimeout)
            {
                throw new TimeoutException($"no message from {a} reached {b} within {TaskTimeoutExtensions.DefaultTimeout}: {first.ToJsonString()}");
            }

            await Task.Delay(20); // Between probes, as a client's retry; each probe's outcome was awaited above.
        }
    }

    /// <summary>Sends a peer_connection from <paramref name="source"/> to <paramref name="peer"/>.</summary>
    public static Task SendToAsync(this TestRelayClient client, Guid source, Guid peer, string description, string sourceName = "forged") =>
        client.SendTextAsync(TestRelayClient.PeerConnection(source, peer, description, sourceName: sourceName));

    /// <summary>Reads the close frame without answering it (the client stays in CloseReceived).</summary>
    public static async Task<(int Code, string Reason)> ReceiveCloseWithoutAnsweringAsync(this TestRelayClient client)
    {
        var buffer = new byte[4096];
        while (true)
        {
            var result = await client.Socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return ((int)result.CloseStatus!, result.CloseStatusDescription ?? string.Empty);
            }
        }
    }

    public static string? Str(this JsonObject message, string key) => message[key]?.GetValue<string>();

    /// <summary>Reads the next message, or null when the server closes instead.</summary>
    public static async Task<string?> ReceiveAsyncOrClose(this TestRelayClient client)
    {
        try
        {
            return await client.ReceiveTextAsync();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Registers, retrying while the node answers 1013 (its lease not renewed yet), as ProxyStore's client does.</summary>
    public static async Task<TestRelayClient> RegisterWhenReadyAsync(RelayProcess node, Guid uuid)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var client = await TestRelayClient.ConnectAsync(node.Uri!);
            await client.SendTextAsync(TestRelayClient.Registration(uuid));
            var text = await client.ReceiveAsyncOrClose();
            if (text is not null && text.Contains("\"success\": true", StringComparison.Ordinal))
            {
                return client;
            }

            await client.DisposeAsync();
            if (deadline.Elapsed > TaskTimeoutExtensions.DefaultTimeout)
            {
                throw new TimeoutException($"{uuid} could not register on {node.Uri}: {text ?? "closed"}");
            }

            await Task.Delay(50); // Back-off between attempts, as a client's retry policy.
        }
    }
}
