using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public async Task Register_NewUuid_RepliesSuccess()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        await client.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
        Assert.Equal(
            """{"success": true, "message": null, "error": false, "message_type": "relay_response"}""",
            await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Register_SameUuidOnNewSocket_ClosesOldWith4004()
    {
        await using var server = await RelayTestServer.StartAsync();
        var uuid = Guid.NewGuid();
        await using var old = await TestRelayClient.ConnectAsync(server.Uri);
        await old.RegisterAsync(uuid);
        await using var replacement = await TestRelayClient.ConnectAsync(server.Uri);
        await replacement.RegisterAsync(uuid);
        var (code, reason) = await old.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, code);
        Assert.Equal(RelayCloseCodes.DuplicateRegistrationReason, reason);
    }
}
