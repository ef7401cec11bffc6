using System.Text;
using PeerRelay.Logging;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

public sealed class HostTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string LogFile => Path.Combine(_directory.Path, "logs", WeeklyLogFile.NameFor(DateTimeOffset.UtcNow));

    private string ReadLog() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : string.Empty;

    [Fact]
    public async Task MaxMessageBytes_FromTheFile_ReachesTheRelay()
    {
        await using var relay = await InProcessRelay.StartAsync("max_message_bytes = 200");
        await using var client = await TestRelayClient.ConnectAsync(relay.Uri);
        var uuid = Guid.NewGuid();
        await client.RegisterAsync(uuid);

        await client.SendTextAsync(TestRelayClient.PeerConnection(uuid, Guid.NewGuid(), new string('x', 400)));

        var (code, _) = await client.ReceiveCloseAsync();
        Assert.Equal(4003, code);
    }

    [Fact]
    public async Task LogDir_GetsTheWeeksFile_WithConnectedClientsAndWarnings()
    {
        var logs = Path.Combine(_directory.Path, "logs");
        await using var relay = await InProcessRelay.StartAsync($"""
            mystery = 1

            [logging]
            log_dir = "{logs}"
            connected_client_logging_interval = 0.2
            connected_client_logging_limit = 10
            """);
        await using var client = await TestRelayClient.ConnectAsync(relay.Uri);
        var uuid = Guid.NewGuid();
        await client.RegisterAsync(uuid, "laptop");

        await TaskTimeoutExtensions.WaitUntil(() => ReadLog().Contains("Connected clients: 1", StringComparison.Ordinal));

        var log = ReadLog();
        Assert.Contains($"{uuid} (laptop)", log, StringComparison.Ordinal);
        Assert.Contains("INFO [PeerRelay.Startup] PeerRelay listening on ws://127.0.0.1:", log, StringComparison.Ordinal);
        Assert.Contains("WARNING [PeerRelay.Startup] test.toml: unknown key \"mystery\" is ignored", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DefaultLevel_FiltersPeerRelayLogs_ButTheListeningLineStays()
    {
        var logs = Path.Combine(_directory.Path, "logs");
        var relay = await InProcessRelay.StartAsync($"[logging]\nlog_dir = \"{logs}\"\ndefault_level = \"error\"");

        await relay.DisposeAsync(); // flushes the file

        var log = ReadLog();
        Assert.Contains("PeerRelay listening on", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Relay stopping", log, StringComparison.Ordinal); // an INFO line of the relay
    }

    [Fact]
    public async Task RequestLines_AreNeverLogged_SoQueryTokensStayOut()
    {
        var logs = Path.Combine(_directory.Path, "logs");
        var relay = await InProcessRelay.StartAsync($"[logging]\nlog_dir = \"{logs}\"\ndefault_level = \"DEBUG\"\nwebsockets_level = \"DEBUG\"");
        var secret = $"secret{Guid.NewGuid():N}";
        var query = new UriBuilder(relay.Uri) { Query = $"access_token={secret}" }.Uri;
        await using (var client = await TestRelayClient.ConnectAsync(query))
        {
            await client.RegisterAsync(Guid.NewGuid());
            await client.CloseAsync();
        }

        await relay.DisposeAsync();

        var log = ReadLog();
        Assert.Contains("DEBUG [Microsoft.AspNetCore", log, StringComparison.Ordinal); // framework debug logs are on...
        Assert.DoesNotContain(secret, log, StringComparison.Ordinal); // ...yet the token is not written
    }

    [Fact]
    public void WeeklyFileNames_FollowIsoWeeks()
    {
        Assert.Equal("peerrelay-2026-W48.log", WeeklyLogFile.NameFor(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero)));
        Assert.Equal("peerrelay-2026-W53.log", WeeklyLogFile.NameFor(new DateTimeOffset(2027, 1, 3, 23, 59, 0, TimeSpan.Zero)));
        Assert.Equal("peerrelay-2027-W01.log", WeeklyLogFile.NameFor(new DateTimeOffset(2027, 1, 4, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void FileLogger_WritesEachWeekToItsOwnFile()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 29, 23, 59, 0, TimeSpan.Zero));
        var provider = new WeeklyFileLoggerProvider(_directory.Path, clock);

        provider.Enqueue(Microsoft.Extensions.Logging.LogLevel.Information, "Test", default, "sunday", null, null);
        clock.Now = clock.Now.AddMinutes(2);
        provider.Enqueue(Microsoft.Extensions.Logging.LogLevel.Information, "Test", default, "monday", null, null);
        provider.Dispose();

        var week48 = File.ReadAllText(Path.Combine(_directory.Path, "peerrelay-2026-W48.log"), Encoding.UTF8);
        var week49 = File.ReadAllText(Path.Combine(_directory.Path, "peerrelay-2026-W49.log"), Encoding.UTF8);
        Assert.Contains("INFO [Test] sunday", week48, StringComparison.Ordinal);
        Assert.DoesNotContain("monday", week48, StringComparison.Ordinal);
        Assert.Contains("INFO [Test] monday", week49, StringComparison.Ordinal);
        Assert.Equal(0, provider.DroppedCount);
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
