using System.Net;
using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>
/// Issue 14, "any StackExchange.Redis configuration string": a fleet on a Redis that asks for a password and an ACL
/// user, and on a Redis that speaks TLS only, each a real redis-server with three real nodes.
/// </summary>
public sealed class SecuredRedisTests
{
    private const string AdminPassword = "admin-Secret-4711";
    private const string RelayPassword = "relay-Secret-0815";
    private const string WrongPassword = "wrong-Secret-2342";

    [Fact]
    public async Task AclUser_WithTheDocumentedMinimalAcl_FleetRegistersAndForwards_AWrongPasswordIsReportedWithoutTheSecret()
    {
        await using var redis = await RedisServer.StartAsync(new RedisServerOptions { Password = AdminPassword });
        Assert.Equal("OK", await redis.CliAsync(["ACL", .. DocumentedAcl(RelayPassword)]));
        // As docs/scaling.md gives it: CONFIG (which the ACL does not grant: it reads secrets) is never sent.
        var configuration = $"{redis.Configuration},user=peerrelay,password={RelayPassword},$CONFIG=";
        await using var fleet = await RelayFleet.StartOnRedisAsync(configuration, 3);

        Guid a = Guid.NewGuid(), b = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(fleet.Nodes[0], a, "alice");
        await using var bob = await FleetClients.RegisteredAsync(fleet.Nodes[2], b, "bob");
        await FleetClients.AssertExchangeAsync(alice, a, bob, b, "with an ACL user");
        // A take-over across nodes (the close request on node-3's channel) with the same user. The old client reads
        // all along, as real clients do (one that does not answer the 4004 within close_timeout is aborted).
        var bobClosed = bob.ReceiveUntilCloseAsync(TimeSpan.FromMinutes(1));
        await using var bobAgain = await FleetClients.RegisteredAsync(fleet.Nodes[1], b, "bob");
        Assert.Equal(4004, (await bobClosed).Code);
        await FleetClients.AssertExchangeAsync(alice, a, bobAgain, b, "after the take-over");

        // The ACL is enough: Redis denied nothing to the nodes (ACL LOG lists every denied command, key and channel).
        var denials = await redis.CliAsync("ACL", "LOG");
        Assert.True(denials.Length == 0, $"Redis denied the nodes' user (ACL LOG):\n{denials}");

        // A node with a wrong password: it runs, says why it is not ready (no secret), refuses registrations with 1013.
        var wrong = await fleet.StartNodeAsync(
            "node-wrong", clusterToml: $"redis = \"{redis.Configuration},user=peerrelay,password={WrongPassword},$CONFIG=\"", waitForLease: false);
        using var http = new HttpClient();
        var readyz = new Uri($"http://127.0.0.1:{wrong.Port}/readyz");
        await TaskTimeoutExtensions.WaitUntilAsync(async () =>
        {
            using var response = await http.GetAsync(readyz);
            return response.StatusCode == HttpStatusCode.ServiceUnavailable
                && (await response.Content.ReadAsStringAsync()).Contains("Redis refused this node's user or password", StringComparison.Ordinal);
        });
        await wrong.WaitForLineAsync(l => l.Contains("Cannot renew this node's lease in Redis: Redis refused this node's user or password", StringComparison.Ordinal));
        await using (var refused = await TestRelayClient.ConnectAsync(wrong.Uri!))
        {
            await refused.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
            Assert.Equal(1013, (await refused.ReceiveUntilCloseAsync()).Code);
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{wrong.Port}/healthz"))).StatusCode);
        Assert.Contains("reason=auth", (await redis.CliAsync("ACL", "LOG")).Replace("\n", "=", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.False(wrong.HasExited);
        foreach (var node in fleet.Nodes)
        {
            foreach (var secret in (string[])[RelayPassword, WrongPassword, AdminPassword])
            {
                Assert.DoesNotContain(secret, node.Output, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task OverTls_NodesTrustingTheRedisCa_ForwardAcrossNodes_ANodeTrustingAnotherCaIsRefused()
    {
        using var directory = new TempDirectory();
        using var ca = TestCertificateAuthority.Create(directory.Path, "redis-ca");
        using var otherCa = TestCertificateAuthority.Create(directory.Path, "other-ca");
        var (cert, key) = ca.IssueServerCertificate("redis");
        await using var redis = await RedisServer.StartAsync(new RedisServerOptions { Tls = new RedisTlsFiles(ca.CertPath, cert, key) });
        Assert.Equal("PONG", await redis.CliAsync("PING")); // TLS only: redis-cli --tls with the CA.

        await using var fleet = await RelayFleet.StartOnRedisAsync(
            $"{redis.Configuration},ssl=true", 3, clusterToml: $"redis_ca_file = \"{ca.CertPath}\"");
        Guid a = Guid.NewGuid(), b = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(fleet.Nodes[1], a, "alice");
        await using var bob = await FleetClients.RegisteredAsync(fleet.Nodes[2], b, "bob");
        await FleetClients.AssertExchangeAsync(alice, a, bob, b, "over TLS");
        // Every node's channel is read on a connection of its own, over TLS as well (the server has no other port).
        foreach (var node in fleet.Nodes)
        {
            Assert.Contains($"{{peerrelay}}:ch:{fleet.NodeIdOf(node)}", await redis.CliAsync("PUBSUB", "CHANNELS"), StringComparison.Ordinal);
        }

        // A node told to trust another authority does not accept the server's certificate.
        await using var distrustful = await StartUntrustingNodeAsync(fleet, otherCa);
        using var http = new HttpClient();
        var readyz = new Uri($"http://127.0.0.1:{distrustful.Port}/readyz");
        await distrustful.WaitForLineAsync(l =>
            l.Contains("Cannot renew this node's lease in Redis: Redis's TLS certificate was not accepted", StringComparison.Ordinal));
        using var response = await http.GetAsync(readyz);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Redis's TLS certificate was not accepted", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("node-other-ca", await redis.CliAsync("PUBSUB", "CHANNELS"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ssl=true", "/nonexistent/ca.pem", "cluster.redis_ca_file: \"/nonexistent/ca.pem\" does not exist")]
    [InlineData("ssl=true", "NOT-A-CERTIFICATE", "holds no certificate")]
    [InlineData("ssl=false", "CA", "cluster.redis_ca_file: is set but cluster.redis does not ask for TLS; add ssl=true to it")]
    public async Task RedisCaFile_BadValue_StopsStartUpNamingTheKey(string tls, string caFile, string expected)
    {
        using var directory = new TempDirectory();
        using var ca = TestCertificateAuthority.Create(directory.Path);
        var path = caFile switch
        {
            "CA" => ca.CertPath,
            "NOT-A-CERTIFICATE" => directory.WriteFile("not-a-certificate.pem", "hello\n"),
            _ => caFile,
        };
        var config = directory.WriteFile("relay.toml", $"""
            [cluster]
            redis = "127.0.0.1:1,{tls},password={RelayPassword}"
            redis_ca_file = "{path}"
            """);

        var (code, output) = await RelayProcess.RunAsync("serve", "--config", config);

        Assert.Equal(2, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.DoesNotContain(RelayPassword, output, StringComparison.Ordinal);
    }

    /// <summary>A node of the fleet's configuration, but trusting <paramref name="authority"/> instead of the Redis CA.</summary>
    private static Task<RelayProcess> StartUntrustingNodeAsync(RelayFleet fleet, TestCertificateAuthority authority) =>
        fleet.StartNodeAsync("node-other-ca", waitForLease: false, clusterToml: $"redis_ca_file = \"{authority.CertPath}\"");

    /// <summary>
    /// The ACL docs/scaling.md gives for the nodes' Redis user (its <c>ACL SETUSER peerrelay ...</c> line), with
    /// <paramref name="password"/> for its placeholder: the arguments after <c>ACL</c>.
    /// </summary>
    private static string[] DocumentedAcl(string password)
    {
        var line = File.ReadLines(RepositoryPaths.Combine("docs/scaling.md"))
            .Select(l => l.Trim())
            .SingleOrDefault(l => l.StartsWith("ACL SETUSER peerrelay ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("docs/scaling.md gives no \"ACL SETUSER peerrelay ...\" line");
        Assert.Contains(">RELAY_PASSWORD", line, StringComparison.Ordinal);
        return line.Replace(">RELAY_PASSWORD", ">" + password, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
    }
}
