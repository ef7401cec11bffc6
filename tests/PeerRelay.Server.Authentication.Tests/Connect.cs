using System.Net.WebSockets;
using PeerRelay.Testing;

namespace PeerRelay.Server.Authentication.Tests;

/// <summary>Opens test clients with credentials.</summary>
internal static class Connect
{
    public static Task<TestRelayClient> WithBearerAsync(Uri relay, string token) =>
        TestRelayClient.ConnectAsync(relay, o => o.SetRequestHeader("Authorization", "Bearer " + token));

    public static Task<TestRelayClient> WithHeaderAsync(Uri relay, string authorization) =>
        TestRelayClient.ConnectAsync(relay, o => o.SetRequestHeader("Authorization", authorization));

    public static Task<TestRelayClient> WithQueryTokenAsync(Uri relay, string token) =>
        TestRelayClient.ConnectAsync(new Uri(relay, "?access_token=" + Uri.EscapeDataString(token)));

    /// <summary>Registers a fresh UUID and returns the close the server answers with.</summary>
    public static async Task<(int Code, string Reason)> RegisterExpectingCloseAsync(TestRelayClient client)
    {
        await client.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
        return await client.ReceiveCloseAsync();
    }

    public static ClientWebSocketOptions NoKeepAlive(ClientWebSocketOptions options)
    {
        options.KeepAliveInterval = TimeSpan.Zero;
        return options;
    }
}
