using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>
/// Debian's nginx in front of three nodes, round robin and no sticky sessions, with the configuration
/// <c>docs/scaling.md</c> gives: clients that land on different nodes reach each other, and a client whose node dies
/// reconnects through nginx to another node.
/// </summary>
public sealed class NginxFleetTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RelayFleet _fleet = null!;
    private Process? _nginx;
    private int _port;

    public async Task InitializeAsync()
    {
        _fleet = await RelayFleet.StartAsync(3);
        _port = FreePort.Next();
        var upstreams = string.Join("\n", _fleet.Nodes.Select(n => $"        server 127.0.0.1:{n.Port} max_fails=1 fail_timeout=30s;"));
        var config = _directory.WriteFile("nginx.conf", $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{_directory.File("nginx.pid")}};
            error_log {{_directory.File("error.log")}} warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path {{_directory.Path}}/body;
                proxy_temp_path {{_directory.Path}}/proxy;
                fastcgi_temp_path {{_directory.Path}}/fastcgi;
                uwsgi_temp_path {{_directory.Path}}/uwsgi;
                scgi_temp_path {{_directory.Path}}/scgi;

                # From docs/scaling.md ("A load balancer"): WebSockets through, no stickiness, long-lived connections.
                map $http_upgrade $connection_upgrade {
                    default upgrade;
                    ''      close;
                }
                upstream peerrelay {
            {{upstreams}}
                }
                server {
                    listen 127.0.0.1:{{_port}};
                    location / {
                        proxy_pass http://peerrelay;
                        proxy_http_version 1.1;
                        proxy_set_header Upgrade $http_upgrade;
                        proxy_set_header Connection $connection_upgrade;
                        proxy_set_header Host $host;
                        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                        proxy_read_timeout 3600s;
                        proxy_send_timeout 3600s;
                        proxy_next_upstream error timeout;
                    }
                }
            }
            """);
        var start = new ProcessStartInfo("/usr/sbin/nginx") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in (string[])["-e", _directory.File("error.log"), "-p", _directory.Path, "-c", config])
        {
            start.ArgumentList.Add(argument);
        }

        _nginx = Process.Start(start)!;
        await TaskTimeoutExtensions.WaitUntilAsync(async () =>
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, _port);
                return true;
            }
            catch (SocketException) when (!_nginx.HasExited)
            {
                return false;
            }
        });
    }

    public async Task DisposeAsync()
    {
        if (_nginx is { HasExited: false })
        {
            _nginx.Kill();
            await _nginx.WaitForExitAsync().WithTimeout();
        }

        _nginx?.Dispose();
        await _fleet.DisposeAsync();
        _directory.Dispose();
    }

    private Uri Balancer => new(string.Create(CultureInfo.InvariantCulture, $"ws://127.0.0.1:{_port}/"));

    [Fact]
    public async Task ClientsThroughNginx_LandOnDifferentNodes_AndReachEachOther()
    {
        var uuids = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        var clients = new List<TestRelayClient>();
        try
        {
            foreach (var uuid in uuids)
            {
                var client = await TestRelayClient.ConnectAsync(Balancer);
                clients.Add(client);
                await client.RegisterAsync(uuid);
            }

            // Round robin, no stickiness: the three clients are held by three different nodes.
            var holders = new HashSet<string>();
            foreach (var uuid in uuids)
            {
                holders.Add(await _fleet.Redis.CliAsync("HGET", $"{{peerrelay}}:c:{uuid}", "n"));
            }

            Assert.Equal(3, holders.Count);
            for (var from = 0; from < 3; from++)
            {
                for (var to = 0; to < 3; to++)
                {
                    if (from != to)
                    {
                        await clients[from].SendToAsync(uuids[from], uuids[to], $"{from}->{to}");
                        var message = await clients[to].ReceiveJsonAsync();
                        Assert.Equal($"{from}->{to}", message.Str("description"));
                        Assert.Equal(uuids[from].ToString(), message.Str("source_uuid"));
                    }
                }
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ClientWhoseNodeDied_ReconnectsThroughNginx_ToAnotherNode()
    {
        Guid a = Guid.NewGuid(), b = Guid.NewGuid();
        await using var alice = await TestRelayClient.ConnectAsync(Balancer);
        await alice.RegisterAsync(a);
        await using var bob = await TestRelayClient.ConnectAsync(Balancer);
        await bob.RegisterAsync(b);
        var bobsNode = await _fleet.Redis.CliAsync("HGET", $"{{peerrelay}}:c:{b}", "n");
        Assert.NotEqual(bobsNode, await _fleet.Redis.CliAsync("HGET", $"{{peerrelay}}:c:{a}", "n"));

        var dead = _fleet.Nodes.Single(n => _fleet.NodeIdOf(n) == bobsNode);
        await dead.DisposeAsync(); // kill -9
        Assert.Equal(1006, (await bob.ReceiveUntilCloseAsync()).Code);

        // Bob's reconnect goes through nginx; whichever node it reaches, it is a live one.
        await using var bobAgain = await TestRelayClient.ConnectAsync(Balancer);
        await bobAgain.RegisterAsync(b);
        Assert.NotEqual(bobsNode, await _fleet.Redis.CliAsync("HGET", $"{{peerrelay}}:c:{b}", "n"));
        await alice.SendToAsync(a, b, "still here");
        Assert.Equal("still here", (await bobAgain.ReceiveJsonAsync()).Str("description"));
    }

}
