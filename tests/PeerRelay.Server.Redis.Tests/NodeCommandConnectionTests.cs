using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using PeerRelay.Server.Redis.Internal;
using PeerRelay.Testing;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>
/// The node's own Redis command connection against a real redis-server: pipelined commands from many threads, each
/// reply to its own command, in the order written; a frozen Redis (SIGSTOP) times the pending commands out and the
/// connection is made again; a flushed script is sent as text; AUTH with a password and with an ACL user; TLS.
/// </summary>
public sealed class NodeCommandConnectionTests : IAsyncLifetime
{
    private readonly SemaphoreSlim _connected = new(0);
    private RedisServer _redis = null!;
    private NodeCommandConnection? _connection;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task ConcurrentCallers_EachReplyGoesToItsCommand_AndEachCallersCommandsRunInTheOrderOfItsCalls()
    {
        var connection = await StartAsync();
        const int Callers = 8;
        const int PerCaller = 400;
        var callers = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            // Not awaited one by one: every command is in flight at once, written in batches.
            var pushes = new Task<string[]>[PerCaller];
            var echoes = new Task<string[]>[PerCaller];
            for (var i = 0; i < PerCaller; i++)
            {
                pushes[i] = connection.SendAsync(new RedisRequest("RPUSH", [$"list:{caller}", i]));
                echoes[i] = connection.SendAsync(new RedisRequest("ECHO", [$"caller {caller} echo {i}"]));
            }

            for (var i = 0; i < PerCaller; i++)
            {
                Assert.Equal((i + 1).ToString(CultureInfo.InvariantCulture), Assert.Single(await pushes[i].WithTimeout()));
                Assert.Equal($"caller {caller} echo {i}", Assert.Single(await echoes[i].WithTimeout()));
            }
        })).ToArray();
        await Task.WhenAll(callers).WithTimeout();

        for (var caller = 0; caller < Callers; caller++)
        {
            var list = (await _redis.CliAsync("LRANGE", $"list:{caller}", "0", "-1")).Split('\n');
            Assert.Equal(Enumerable.Range(0, PerCaller).Select(i => i.ToString(CultureInfo.InvariantCulture)), list);
        }
    }

    [Fact]
    public async Task RedisFrozen_PendingCommandsTimeOut_NewOnesFailAtOnce_AndTheConnectionIsMadeAgainAfterwards()
    {
        var connection = await StartAsync(timeout: TimeSpan.FromMilliseconds(500));
        Assert.Equal("PONG", Assert.Single(await connection.SendAsync(new RedisRequest("PING", [])).WithTimeout()));

        _redis.Freeze();
        try
        {
            var first = connection.SendAsync(new RedisRequest("PING", []));
            var second = connection.SendAsync(new RedisRequest("ECHO", ["x"]));
            // (Not WithTimeout: a RedisTimeoutException is a TimeoutException, which it reports as its own.)
            await Assert.ThrowsAsync<RedisTimeoutException>(() => first.WaitAsync(TimeSpan.FromSeconds(30)));
            await Assert.ThrowsAsync<RedisTimeoutException>(() => second.WaitAsync(TimeSpan.FromSeconds(30)));

            // The stream's position is lost: the connection was cut; while Redis stays frozen, commands fail at once.
            Assert.False(connection.IsConnected);
            Assert.False(connection.TrySend(new RedisRequest("PING", [])));
            await Assert.ThrowsAsync<RedisConnectionException>(() => connection.SendAsync(new RedisRequest("PING", [])));
        }
        finally
        {
            _redis.Thaw();
        }

        await _connected.WaitAsync().WithTimeout(what: "the connection made again");
        Assert.Equal("PONG", Assert.Single(await connection.SendAsync(new RedisRequest("PING", [])).WithTimeout()));
    }

    [Fact]
    public async Task ScriptFlushed_TheScriptIsSentAsText_AndRunsByHashAgainAfterwards()
    {
        var connection = await StartAsync();
        var hash = System.Text.Encoding.ASCII.GetString(RedisScripts.Release.HexHash);
        Assert.Equal("1", await _redis.CliAsync("SCRIPT", "EXISTS", hash)); // Loaded when the connection opened.
        Assert.Equal("0", Assert.Single(await ReleaseAsync(connection).WithTimeout()));

        Assert.Equal("OK", await _redis.CliAsync("SCRIPT", "FLUSH"));
        Assert.Equal("0", await _redis.CliAsync("SCRIPT", "EXISTS", hash));

        // NOSCRIPT, then the same command as EVAL: the caller sees only the script's answer.
        var pending = Enumerable.Range(0, 5).Select(_ => ReleaseAsync(connection)).ToArray();
        foreach (var reply in pending)
        {
            Assert.Equal("0", Assert.Single(await reply.WithTimeout()));
        }

        Assert.Equal("1", await _redis.CliAsync("SCRIPT", "EXISTS", hash)); // EVAL cached it again.
        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task Password_IsSentWithAuth()
    {
        _redis = await RedisServer.StartAsync("--requirepass", "s3cret pass");
        var connection = await StartAsync($"127.0.0.1:{_redis.Port},password=s3cret pass");
        Assert.Equal("PONG", Assert.Single(await connection.SendAsync(new RedisRequest("PING", [])).WithTimeout()));

        var refused = Assert.Throws<RedisConnectionException>(() => RedisLink.Connect(
            Endpoint, ConfigurationOptions.Parse($"127.0.0.1:{_redis.Port},password=wrong"), "test", TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal(ConnectionFailureType.AuthenticationFailure, refused.FailureType);
        Assert.DoesNotContain("wrong", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AclUserAndPassword_AreSentWithAuth()
    {
        _redis = await RedisServer.StartAsync("--user", "relay", "on", ">relay-pw", "~*", "&*", "+@all", "--user", "default", "off");
        var connection = await StartAsync($"127.0.0.1:{_redis.Port},user=relay,password=relay-pw");
        Assert.Equal("PONG", Assert.Single(await connection.SendAsync(new RedisRequest("PING", [])).WithTimeout()));
        Assert.Equal("relay", Assert.Single(await connection.SendAsync(new RedisRequest("ACL", ["WHOAMI"])).WithTimeout()));

        Assert.Throws<RedisConnectionException>(() => RedisLink.Connect(
            Endpoint, ConfigurationOptions.Parse($"127.0.0.1:{_redis.Port},user=relay,password=wrong"), "test", TimeSpan.FromSeconds(5), CancellationToken.None));
    }

    [Fact]
    public async Task Tls_TheServersCertificateIsChecked_AndCommandsRunOverIt()
    {
        using var directory = new TempDirectory();
        using var certificate = TestCertificate.Create(directory.Path, "redis");
        var tlsPort = FreePort.Next();
        _redis = await RedisServer.StartAsync(
            "--tls-port", tlsPort.ToString(CultureInfo.InvariantCulture), "--tls-cert-file", certificate.CertPath, "--tls-key-file", certificate.KeyPath,
            "--tls-ca-cert-file", certificate.CertPath, "--tls-auth-clients", "no");
        var trusted = ConfigurationOptions.Parse($"127.0.0.1:{tlsPort},ssl=true,sslHost=localhost");
        trusted.CertificateValidation += certificate.IsThisCertificate;
        var connection = await StartAsync(trusted, tlsPort);
        Assert.Equal("PONG", Assert.Single(await connection.SendAsync(new RedisRequest("PING", [])).WithTimeout()));
        var echoes = Enumerable.Range(0, 200).Select(i => connection.SendAsync(new RedisRequest("ECHO", [new string('x', i * 50)]))).ToArray();
        for (var i = 0; i < echoes.Length; i++)
        {
            Assert.Equal(new string('x', i * 50), Assert.Single(await echoes[i].WithTimeout()));
        }

        // A certificate nobody vouches for is refused.
        Assert.ThrowsAny<System.Security.Authentication.AuthenticationException>(() => RedisLink.Connect(
            new IPEndPoint(IPAddress.Loopback, tlsPort), ConfigurationOptions.Parse($"127.0.0.1:{tlsPort},ssl=true,sslHost=localhost"), "test", TimeSpan.FromSeconds(5), CancellationToken.None));
    }

    private IPEndPoint Endpoint => new(IPAddress.Loopback, _redis.Port);

    private static Task<string[]> ReleaseAsync(NodeCommandConnection connection) =>
        connection.SendAsync(new RedisRequest(RedisScripts.Release, ["{t}:c:x", "{t}:", "x", "node", "incarnation", 1, "release"]));

    /// <summary>Starts Redis (unless a test did) and a connection to it; returns once the connection is open.</summary>
    private Task<NodeCommandConnection> StartAsync(string? configuration = null, TimeSpan? timeout = null) =>
        StartAsync(configuration is null ? null : ConfigurationOptions.Parse(configuration), port: null, timeout);

    private async Task<NodeCommandConnection> StartAsync(ConfigurationOptions? configuration, int? port, TimeSpan? timeout = null)
    {
        _redis ??= await RedisServer.StartAsync();
        var endpoint = new IPEndPoint(IPAddress.Loopback, port ?? _redis.Port);
        _connection = new NodeCommandConnection(
            () => endpoint, configuration ?? ConfigurationOptions.Parse(_redis.Configuration), timeout ?? TimeSpan.FromSeconds(5), () => _connected.Release(), NullLogger.Instance);
        _connection.Start();
        await _connected.WaitAsync().WithTimeout(what: "the connection to open");
        return _connection;
    }
}
