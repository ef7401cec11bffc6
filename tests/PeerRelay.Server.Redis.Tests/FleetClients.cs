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
    /// fleet follows a Redis failover). Every probe has exactly one outcome, which alice hears: it comes back to her with
    /// an error (then she probes again), or it reaches bob, who answers it with an "ack" (sent again if that comes back
    /// with an error). A probe with neither outcome fails the test (lost). Alice cannot tell delivery from a message to
    /// herself: her own messages are delivered at once, while a probe's error comes when Redis answers, possibly after.
    /// Returns how many probes came back with an error.
    /// </summary>
    public static async Task<int> AwaitForwardingAsync(TestRelayClient alice, Guid a, TestRelayClient bob, Guid b)
    {
        var bobAnswers = Task.Run(async () =>
        {
            while (true)
            {
                var message = await bob.ReceiveJsonAsync();
                var text = message.Str("description") ?? string.Empty;
                if (message["error"] is null && text == "done")
                {
                    return;
                }

                if (message["error"] is null && text.StartsWith("probe ", StringComparison.Ordinal))
                {
                    await bob.SendToAsync(b, a, "ack " + text);
                }
                else if (message["error"] is not null && text.StartsWith("ack ", StringComparison.Ordinal))
                {
                    await bob.SendToAsync(b, a, text); // The way back is not there yet: again.
                }
            }
        });

        var failed = 0;
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        for (var n = 0; ; n++)
        {
            await alice.SendToAsync(a, b, $"probe {n}");
            var message = await alice.ReceiveJsonAsync();
            if (message["error"] is null && message.Str("description") == $"ack probe {n}")
            {
                // Both ways work: bob stops answering, and reads nothing more.
                await alice.SendToAsync(a, b, "done");
                await bobAnswers.WithTimeout();
                return failed;
            }

            Assert.Equal($"probe {n}", message.Str("description"));
            Assert.NotNull(message.Str("error"));
            failed++;
            if (deadline.Elapsed > TaskTimeoutExtensions.DefaultTimeout)
            {
                throw new TimeoutException($"no message from {a} reached {b} within {TaskTimeoutExtensions.DefaultTimeout}: {message.ToJsonString()}");
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
