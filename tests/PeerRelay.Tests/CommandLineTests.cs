using PeerRelay.Commands;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary>The command line run in-process: help, version, and every start-up error with its exit code.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await PeerRelayCommand.RunAsync(args, output, error).WithTimeout();
        return (code, output.ToString(), error.ToString());
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task Help_ListsServeAndItsOptions()
    {
        var (code, output, _) = await RunAsync("serve", "--help");

        Assert.Equal(ExitCodes.Success, code);
        foreach (var option in new[] { "--config <FILE>", "--host <ADDR>", "--port <N>", "--log-dir <DIR>", "--log-level <LEVEL>" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RootHelp_ListsTheServeCommand()
    {
        var (code, output, _) = await RunAsync("--help");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("serve", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "serve", "--port", "abc" }, "peerrelay: error: --port: \"abc\" is not allowed")]
    [InlineData(new[] { "serve", "--port", "65536" }, "peerrelay: error: --port: 65536 is not allowed; use a whole number from 0 to 65535")]
    [InlineData(new[] { "serve", "--log-level", "loud" }, "peerrelay: error: --log-level: \"loud\" is not allowed; use DEBUG, INFO, WARNING, ERROR or CRITICAL")]
    [InlineData(new[] { "serve", "--bogus" }, "peerrelay: error: ")]
    [InlineData(new string[0], "peerrelay: error: ")]
    public async Task BadCommandLine_ExitsWith2(string[] args, string expected)
    {
        var (code, _, error) = await RunAsync(args);

        Assert.Equal(ExitCodes.ConfigurationError, code);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadValueInTheFile_ExitsWith2_WithOneLineNamingKeyValueAndAllowed()
    {
        var file = _directory.WriteFile("relay.toml", "port = 8700\n[logging]\ndefault_log_level = \"chatty\"\n");

        var (code, _, error) = await RunAsync("serve", "--config", file);

        Assert.Equal(ExitCodes.ConfigurationError, code);
        var line = Assert.Single(Lines(error));
        Assert.Equal(
            $"peerrelay: error: {file}: logging.default_log_level: \"chatty\" is not allowed; use DEBUG, INFO, WARNING, ERROR or CRITICAL (any case), or 10, 20, 30, 40, 50",
            line);
    }

    [Fact]
    public async Task UnknownKeyAndBadValue_PrintTheWarningAndTheError()
    {
        var file = _directory.WriteFile("relay.toml", "prot = 8700\nport = \"high\"\n");

        var (code, _, error) = await RunAsync("serve", "--config", file);

        Assert.Equal(ExitCodes.ConfigurationError, code);
        var lines = Lines(error);
        Assert.Equal(2, lines.Length);
        Assert.Equal($"peerrelay: warning: {file}: unknown key \"prot\" is ignored", lines[0]);
        Assert.StartsWith($"peerrelay: error: {file}: port: \"high\" is not allowed", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingConfigFile_ExitsWith2()
    {
        var missing = _directory.File("absent.toml");

        var (code, _, error) = await RunAsync("serve", "--config", missing);

        Assert.Equal(ExitCodes.ConfigurationError, code);
        Assert.StartsWith($"peerrelay: error: --config: cannot read \"{missing}\"", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingCertificate_ExitsWith2()
    {
        var missing = _directory.File("cert.pem");
        var file = _directory.WriteFile("relay.toml", $"certfile = \"{missing}\"\n");

        var (code, _, error) = await RunAsync("serve", "--config", file, "--host", "127.0.0.1", "--port", "0");

        Assert.Equal(ExitCodes.ConfigurationError, code);
        Assert.StartsWith($"peerrelay: error: certfile: \"{missing}\" does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnsupportedAuthMethod_ExitsWith2()
    {
        var file = _directory.WriteFile("relay.toml", "[auth]\nmethod = \"kerberos\"\n");

        var (code, _, error) = await RunAsync("serve", "--config", file, "--host", "127.0.0.1", "--port", "0");

        Assert.Equal(ExitCodes.ConfigurationError, code);
        Assert.StartsWith($"peerrelay: error: {file}: auth.method: \"kerberos\" is unknown; use \"globus\" or \"jwt\"", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SeveralErrors_AreAllReportedInOneRun_EachWithTheFileName()
    {
        var file = _directory.WriteFile("relay.toml", """
            port = "high"
            max_connections = 0

            [auth]
            method = "jwt"

            [auth.kwargs]
            issuer = 3
            colour = "blue"

            [logging]
            default_level = "loud"
            """);

        var (code, _, error) = await RunAsync("serve", "--config", file);

        Assert.Equal(ExitCodes.ConfigurationError, code);
        var lines = Lines(error);
        Assert.Equal(5, lines.Length);
        Assert.All(lines, line => Assert.StartsWith($"peerrelay: error: {file}: ", line, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(": port: \"high\" is not allowed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(": max_connections: 0 is not allowed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(": logging.default_level: \"loud\" is not allowed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(": auth.kwargs.issuer: expected a string, got 3", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(": auth.kwargs.colour: not a setting of method \"jwt\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MissingCertificateAndUnwritableLogDir_AreBothReportedInOneRun()
    {
        var missing = _directory.File("cert.pem");
        var notADirectory = _directory.WriteFile("file", "x");
        var file = _directory.WriteFile("relay.toml", $"certfile = \"{missing}\"\n[logging]\nlog_dir = \"{Path.Combine(notADirectory, "logs")}\"\n");

        var (code, _, error) = await RunAsync("serve", "--config", file, "--host", "127.0.0.1", "--port", "0");

        Assert.Equal(ExitCodes.ConfigurationError, code);
        var lines = Lines(error);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"peerrelay: error: certfile: \"{missing}\" does not exist", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("peerrelay: error: log_dir: cannot write log files in", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnwritableLogDir_ExitsWith2()
    {
        var notADirectory = _directory.WriteFile("file", "x");

        var (code, _, error) = await RunAsync("serve", "--log-dir", Path.Combine(notADirectory, "logs"), "--host", "127.0.0.1", "--port", "0");

        Assert.Equal(ExitCodes.ConfigurationError, code);
        Assert.StartsWith("peerrelay: error: log_dir: cannot write log files in", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortInUse_ExitsWith1()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var (code, _, error) = await RunAsync("serve", "--host", "127.0.0.1", "--port", port, "--log-level", "critical");

        Assert.Equal(ExitCodes.Failure, code);
        Assert.StartsWith("peerrelay: error: cannot listen:", error, StringComparison.Ordinal);
    }
}
