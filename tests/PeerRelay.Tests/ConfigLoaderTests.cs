using Microsoft.Extensions.Logging;
using PeerRelay.Configuration;

namespace PeerRelay.Tests;

public sealed class ConfigLoaderTests
{
    private const string File = "relay.toml";

    private static RelayConfig Parse(string toml, CommandLineOverrides? overrides = null) =>
        RelayConfigLoader.Parse(toml, File, overrides);

    private static RelayConfigException ParseFails(string toml, CommandLineOverrides? overrides = null) =>
        Assert.Throws<RelayConfigException>(() => RelayConfigLoader.Parse(toml, File, overrides));

    [Fact]
    public void NoFile_GivesTheReferenceDefaults()
    {
        var config = RelayConfigLoader.Load(null, CommandLineOverrides.None);

        Assert.Null(config.Host);
        Assert.Equal(8700, config.Port);
        Assert.Null(config.CertFile);
        Assert.False(config.UsesTls);
        Assert.Null(config.Auth.Method);
        Assert.Null(config.Logging.LogDir);
        Assert.Equal(LogLevel.Information, config.Logging.DefaultLevel);
        Assert.Equal(LogLevel.Warning, config.Logging.WebSocketsLevel);
        Assert.Equal(TimeSpan.FromSeconds(60), config.Server.ConnectedClientLogInterval);
        Assert.Equal(32, config.Server.ConnectedClientLogLimit);
        Assert.Null(config.Server.MaxMessageBytes);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void ReferenceFieldNames_AreRead()
    {
        var config = Parse("""
            host = "127.0.0.1"
            port = 9000
            certfile = "/etc/relay/cert.pem"
            keyfile = "/etc/relay/key.pem"
            max_message_bytes = 65536

            [auth]
            method = "globus"

            [auth.kwargs]
            client_id = "abc"
            client_secret = "def"
            audience = "relay"

            [logging]
            log_dir = "/var/log/relay"
            default_level = "DEBUG"
            websockets_level = "ERROR"
            current_client_interval = 30
            current_client_limit = 5
            """);

        Assert.Equal("127.0.0.1", config.Host);
        Assert.Equal(9000, config.Port);
        Assert.Equal("/etc/relay/cert.pem", config.CertFile);
        Assert.Equal("/etc/relay/key.pem", config.KeyFile);
        Assert.True(config.UsesTls);
        Assert.Equal(65536, config.Server.MaxMessageBytes);
        Assert.Equal("globus", config.Auth.Method);
        Assert.Equal("abc", config.Auth.Kwargs["client_id"]);
        Assert.Equal("relay", config.Auth.Kwargs["audience"]);
        Assert.Equal("/var/log/relay", config.Logging.LogDir);
        Assert.Equal(LogLevel.Debug, config.Logging.DefaultLevel);
        Assert.Equal(LogLevel.Error, config.Logging.WebSocketsLevel);
        Assert.Equal(TimeSpan.FromSeconds(30), config.Server.ConnectedClientLogInterval);
        Assert.Equal(5, config.Server.ConnectedClientLogLimit);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void ReferenceDocNames_AreRead()
    {
        // The names the reference's own docs show; files written from them exist in the wild.
        var config = Parse("""
            port = 8700

            [logging]
            log_dir = "/path/to/log/dir"
            default_log_level = "WARNING"
            websockets_log_level = "CRITICAL"
            connected_client_logging_interval = 15
            connected_client_logging_limit = 7
            """);

        Assert.Equal(LogLevel.Warning, config.Logging.DefaultLevel);
        Assert.Equal(LogLevel.Critical, config.Logging.WebSocketsLevel);
        Assert.Equal(TimeSpan.FromSeconds(15), config.Server.ConnectedClientLogInterval);
        Assert.Equal(7, config.Server.ConnectedClientLogLimit);
        Assert.Equal("/path/to/log/dir", config.Logging.LogDir);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void PeerRelayKeys_SetTheServerOptions()
    {
        var config = Parse("""
            transport_max_message_bytes = 2097152
            ping_interval = 5
            ping_timeout = 2.5
            send_queue_capacity = 64
            close_timeout = 1
            """);

        Assert.Equal(2097152, config.Server.TransportMaxMessageBytes);
        Assert.Equal(TimeSpan.FromSeconds(5), config.Server.KeepAliveInterval);
        Assert.Equal(TimeSpan.FromSeconds(2.5), config.Server.KeepAliveTimeout);
        Assert.Equal(64, config.Server.SendQueueCapacity);
        Assert.Equal(TimeSpan.FromSeconds(1), config.Server.CloseTimeout);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void InlineIo_IsOnByDefault_AndCanBeTurnedOff()
    {
        Assert.True(Parse(string.Empty).InlineIo);
        Assert.False(Parse("inline_io = false").InlineIo);
        Assert.True(Parse("inline_io = true").InlineIo);
    }

    [Fact]
    public void SocketTransport_IsTheRelaysByDefault_AndKestrelsOrEpollOnRequest()
    {
        Assert.Equal(OperatingSystem.IsLinux() ? SocketTransportKind.Epoll : SocketTransportKind.Relay, Parse(string.Empty).SocketTransport);
        Assert.Equal(SocketTransportKind.Kestrel, Parse("socket_transport = \"kestrel\"").SocketTransport);
        Assert.Equal(SocketTransportKind.Relay, Parse("socket_transport = \"relay\"").SocketTransport);
        Assert.Equal(SocketTransportKind.Epoll, Parse("socket_transport = \"epoll\"").SocketTransport);
    }

    [Fact]
    public void ListenBacklog_Is512ByDefault_AndCanBeSet()
    {
        Assert.Equal(512, Parse(string.Empty).ListenBacklog);
        Assert.Equal(4096, Parse("listen_backlog = 4096").ListenBacklog);
    }

    [Fact]
    public void ZeroPingInterval_TurnsPingsOff()
    {
        Assert.Equal(TimeSpan.Zero, Parse("ping_interval = 0").Server.KeepAliveInterval);
    }

    [Theory]
    [InlineData("colour = \"blue\"", "colour")]
    [InlineData("[logging]\nlevel = \"INFO\"", "logging.level")]
    [InlineData("[auth]\nmethods = \"globus\"", "auth.methods")]
    [InlineData("[serving]\nport = 1", "serving")]
    public void UnknownKey_IsAWarningNamingTheKeyAndTheFile(string toml, string key)
    {
        var config = Parse(toml);

        var warning = Assert.Single(config.Warnings);
        Assert.Contains($"\"{key}\"", warning, StringComparison.Ordinal);
        Assert.Contains(File, warning, StringComparison.Ordinal);
    }

    [Fact]
    public void KwargsKeys_AreNotWarnedAbout()
    {
        // They belong to the auth method, which checks them itself (AuthConfiguration.Validate).
        var config = Parse("[auth]\nmethod = \"globus\"\n[auth.kwargs]\nclient_id = \"abc\"\nclient_secret = \"def\"\ncache_size = 10");

        Assert.Empty(config.Warnings);
        Assert.Equal(10L, config.Auth.Kwargs["cache_size"]);
    }

    [Theory]
    [InlineData("port = 70000", "port: 70000", "from 0 to 65535")]
    [InlineData("port = -1", "port: -1", "from 0 to 65535")]
    [InlineData("port = \"8700\"", "port: \"8700\"", "a whole number")]
    [InlineData("port = 87.5", "port: 87.5", "a whole number")]
    [InlineData("host = 5", "host: 5", "a non-empty string")]
    [InlineData("host = \"\"", "host: \"\"", "a non-empty string")]
    [InlineData("certfile = true", "certfile: true", "a non-empty string")]
    [InlineData("max_message_bytes = 0", "max_message_bytes: 0", "1 or more")]
    [InlineData("max_message_bytes = 3000000000", "max_message_bytes: 3000000000", "1 or more")]
    [InlineData("transport_max_message_bytes = -5", "transport_max_message_bytes: -5", "1 or more")]
    [InlineData("ping_interval = -1", "ping_interval: -1", "seconds")]
    [InlineData("ping_timeout = 0", "ping_timeout: 0", "above 0")]
    [InlineData("close_timeout = \"5s\"", "close_timeout: \"5s\"", "seconds")]
    [InlineData("send_queue_capacity = 0", "send_queue_capacity: 0", "from 1 to")]
    [InlineData("inline_io = 1", "inline_io: 1", "true or false")]
    [InlineData("inline_io = \"yes\"", "inline_io: \"yes\"", "true or false")]
    [InlineData("socket_transport = \"libuv\"", "socket_transport: \"libuv\"", "\"relay\" or \"kestrel\"")]
    [InlineData("socket_transport = true", "socket_transport: true", "\"relay\" or \"kestrel\"")]
    [InlineData("listen_backlog = 0", "listen_backlog: 0", "from 1 to 65535")]
    [InlineData("logging = 3", "logging: 3", "a table")]
    [InlineData("[logging]\ndefault_level = \"LOUD\"", "logging.default_level: \"LOUD\"", "DEBUG, INFO, WARNING, ERROR or CRITICAL")]
    [InlineData("[logging]\ndefault_log_level = 25", "logging.default_log_level: 25", "DEBUG, INFO, WARNING, ERROR or CRITICAL")]
    [InlineData("[logging]\nwebsockets_log_level = true", "logging.websockets_log_level: true", "DEBUG, INFO")]
    [InlineData("[logging]\ncurrent_client_interval = -3", "logging.current_client_interval: -3", "seconds")]
    [InlineData("[logging]\nconnected_client_logging_limit = -1", "logging.connected_client_logging_limit: -1", "0 or more")]
    [InlineData("[logging]\nlog_dir = 1", "logging.log_dir: 1", "a non-empty string")]
    [InlineData("[auth]\nmethod = 1", "auth.method: 1", "a non-empty string")]
    [InlineData("[auth]\nkwargs = \"x\"", "auth.kwargs: \"x\"", "a table")]
    public void BadValue_IsOneLineNamingKeyValueAndWhatIsAllowed(string toml, string keyAndValue, string allowed)
    {
        var error = ParseFails(toml);

        var problem = Assert.Single(error.Problems);
        Assert.DoesNotContain('\n', problem);
        Assert.StartsWith($"{File}: {keyAndValue} is not allowed; use ", problem, StringComparison.Ordinal);
        Assert.Contains(allowed, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryBadValue_IsReported_WithTheWarnings()
    {
        var error = ParseFails("port = -1\nping_timeout = -2\nshade = 1");

        Assert.Equal(2, error.Problems.Count);
        Assert.Contains("\"shade\"", Assert.Single(error.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void BothNamesOfOneKey_IsAnError()
    {
        var error = ParseFails("[logging]\ndefault_level = \"INFO\"\ndefault_log_level = \"DEBUG\"");

        Assert.Contains("logging.default_level and logging.default_log_level", Assert.Single(error.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void KeyFileWithoutCertFile_IsAnError()
    {
        var error = ParseFails("keyfile = \"key.pem\"");

        Assert.Contains("keyfile", Assert.Single(error.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidToml_NamesTheFileLineAndColumn_AndSaysErrorNoMoreThanOnce()
    {
        var error = ParseFails("port = = 1");

        var problem = Assert.Single(error.Problems);
        Assert.StartsWith($"{File}:1:8: Unexpected token `=`", problem, StringComparison.Ordinal);
        Assert.EndsWith(" (the file is not valid TOML)", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("error", problem, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void InvalidToml_EveryBadLineIsReported_Once()
    {
        var error = ParseFails("port = = 1\nhost = \"ok\"\nname = \"unterminated\n");

        Assert.Equal(2, error.Problems.Count);
        Assert.StartsWith($"{File}:1:", error.Problems[0], StringComparison.Ordinal);
        Assert.StartsWith($"{File}:3:", error.Problems[1], StringComparison.Ordinal);
    }

    [Fact]
    public void MaxMessageBytesAboveTheTransportLimit_IsAWarningNamingBothKeys()
    {
        var config = Parse("max_message_bytes = 2000000");

        var warning = Assert.Single(config.Warnings);
        Assert.StartsWith($"{File}: max_message_bytes (2000000) is above transport_max_message_bytes (1048576)", warning, StringComparison.Ordinal);
        Assert.Empty(Parse("max_message_bytes = 2000000\ntransport_max_message_bytes = 2000000").Warnings);
        Assert.Empty(Parse("max_message_bytes = 1048576").Warnings);
    }

    [Fact]
    public void ValuesThatDoNotFitTogether_AndAuthSettings_AreReportedWithTheOtherProblems()
    {
        var error = ParseFails("port = -1\nallowed_origins = [\"not a url\"]\n[auth]\nmethod = \"globus\"\n[auth.kwargs]\ncache_size = \"big\"");

        Assert.Equal(3, error.Problems.Count);
        Assert.All(error.Problems, p => Assert.StartsWith($"{File}: ", p, StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.StartsWith($"{File}: allowed_origins", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.StartsWith($"{File}: auth.kwargs.cache_size: expected a whole number", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("Info", LogLevel.Information)]
    [InlineData("INFO", LogLevel.Information)]
    [InlineData("warning", LogLevel.Warning)]
    [InlineData("Warn", LogLevel.Warning)]
    [InlineData("ERROR", LogLevel.Error)]
    [InlineData("critical", LogLevel.Critical)]
    [InlineData("FATAL", LogLevel.Critical)]
    public void LevelNames_AreReadInAnyCase_InTheFileAndOnTheCommandLine(string name, LogLevel expected)
    {
        Assert.Equal(expected, Parse($"[logging]\ndefault_level = \"{name}\"\nwebsockets_level = \"{name}\"").Logging.DefaultLevel);
        Assert.Equal(expected, Parse($"[logging]\nwebsockets_log_level = \"{name}\"").Logging.WebSocketsLevel);
        Assert.Equal(expected, Parse(string.Empty, new CommandLineOverrides(LogLevel: name)).Logging.DefaultLevel);
    }

    [Theory]
    [InlineData(10, LogLevel.Debug)]
    [InlineData(20, LogLevel.Information)]
    [InlineData(30, LogLevel.Warning)]
    [InlineData(40, LogLevel.Error)]
    [InlineData(50, LogLevel.Critical)]
    public void PythonLevelNumbers_AreRead(int number, LogLevel expected)
    {
        Assert.Equal(expected, Parse($"[logging]\ndefault_level = {number}").Logging.DefaultLevel);
    }

    [Fact]
    public void CommandLine_OverridesTheFile()
    {
        var config = Parse(
            "host = \"10.0.0.1\"\nport = 9000\n[logging]\nlog_dir = \"/a\"\ndefault_level = \"ERROR\"",
            new CommandLineOverrides(Host: "127.0.0.1", Port: 9100, LogDir: "/b", LogLevel: "debug"));

        Assert.Equal("127.0.0.1", config.Host);
        Assert.Equal(9100, config.Port);
        Assert.Equal("/b", config.Logging.LogDir);
        Assert.Equal(LogLevel.Debug, config.Logging.DefaultLevel);
    }

    [Fact]
    public void CommandLine_LeavesWhatItDoesNotSet()
    {
        var config = Parse("host = \"10.0.0.1\"\nport = 9000", new CommandLineOverrides(Port: 9100));

        Assert.Equal("10.0.0.1", config.Host);
        Assert.Equal(9100, config.Port);
    }

    [Theory]
    [InlineData(null, 70000, null, null, "--port: 70000 is not allowed; use a whole number from 0 to 65535")]
    [InlineData(null, null, null, "verbose", "--log-level: \"verbose\" is not allowed; use DEBUG, INFO, WARNING, ERROR or CRITICAL")]
    [InlineData("", null, null, null, "--host: \"\" is not allowed; use a non-empty string")]
    [InlineData(null, null, " ", null, "--log-dir: \" \" is not allowed; use a non-empty string")]
    public void BadCommandLineValue_NamesTheOption(string? host, int? port, string? logDir, string? level, string expected)
    {
        var error = ParseFails(string.Empty, new CommandLineOverrides(host, port, logDir, level));

        Assert.StartsWith(expected, Assert.Single(error.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFile_IsAnErrorNamingIt()
    {
        var path = Path.Combine(Path.GetTempPath(), $"peerrelay-missing-{Guid.NewGuid():N}.toml");

        var error = Assert.Throws<RelayConfigException>(() => RelayConfigLoader.Load(path, CommandLineOverrides.None));

        Assert.Contains(path, Assert.Single(error.Problems), StringComparison.Ordinal);
    }
}
