using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using PeerRelay.Configuration;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary>Every key settable as <c>PEERRELAY_*</c>; precedence command line &gt; environment &gt; file &gt; default.</summary>
public sealed class EnvironmentConfigTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    [Fact]
    public void Variables_SetKeysAtTheTopLevelAndInTables_TypedAsTomlValues()
    {
        var config = RelayConfigLoader.Parse(null, null, environment: new Dictionary<string, string>
        {
            ["PEERRELAY_HOST"] = "127.0.0.1",
            ["PEERRELAY_PORT"] = "9100",
            ["PEERRELAY_METRICS"] = "false",
            ["PEERRELAY_SEND_QUEUE_CAPACITY"] = "64",
            ["PEERRELAY_MESSAGE_RATE"] = "12.5",
            ["PEERRELAY_ALLOWED_ORIGINS"] = "[\"https://a.example\", \"https://b.example\"]",
            ["PEERRELAY_ADMIN_TOKEN"] = "env-admin-token-0123456789",
            ["PEERRELAY_LOGGING__DEFAULT_LEVEL"] = "debug",
            ["PEERRELAY_LOGGING__LOG_FORMAT"] = "json",
            ["PEERRELAY_TOKEN"] = "the check command's, not a setting",
            ["PATH"] = "/usr/bin",
        });

        Assert.Equal("127.0.0.1", config.Host);
        Assert.Equal(9100, config.Port);
        Assert.False(config.Metrics);
        Assert.Equal(64, config.Server.SendQueueCapacity);
        Assert.Equal(12.5, config.Server.MessageRate);
        Assert.Equal(["https://a.example", "https://b.example"], config.Server.AllowedOrigins);
        Assert.Equal("env-admin-token-0123456789", config.AdminToken);
        Assert.Equal(LogLevel.Debug, config.Logging.DefaultLevel);
        Assert.True(config.Logging.JsonFormat);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void Precedence_CommandLine_OverEnvironment_OverFile_OverDefault()
    {
        const string File = "port = 9000\nallowed_origins = [\"https://file.example\"]\n[logging]\ndefault_level = \"error\"\n";
        var environment = new Dictionary<string, string>
        {
            ["PEERRELAY_PORT"] = "9100",
            ["PEERRELAY_LOGGING__DEFAULT_LEVEL"] = "warning",
            ["PEERRELAY_ALLOWED_ORIGINS"] = "https://env.example",
        };
        var commandLine = new CommandLineOverrides(Port: 9200, LogLevel: "debug");

        Assert.Equal(RelayConfig.DefaultPort, RelayConfigLoader.Parse(null, null, environment: NoEnvironment).Port);
        var fromFile = RelayConfigLoader.Parse(File, "relay.toml", environment: NoEnvironment);
        Assert.Equal((9000, LogLevel.Error), (fromFile.Port, fromFile.Logging.DefaultLevel));
        var fromEnvironment = RelayConfigLoader.Parse(File, "relay.toml", environment: environment);
        Assert.Equal((9100, LogLevel.Warning), (fromEnvironment.Port, fromEnvironment.Logging.DefaultLevel));
        Assert.Equal(["https://env.example"], fromEnvironment.Server.AllowedOrigins); // Replaced, not added to.
        var fromCommandLine = RelayConfigLoader.Parse(File, "relay.toml", commandLine, environment);
        Assert.Equal((9200, LogLevel.Debug), (fromCommandLine.Port, fromCommandLine.Logging.DefaultLevel));
    }

    [Fact]
    public void BadOrUnknownVariables_AreReportedAsTheEnvironments()
    {
        var error = Assert.Throws<RelayConfigException>(() => RelayConfigLoader.Parse(null, null, environment: new Dictionary<string, string>
        {
            ["PEERRELAY_PORT"] = "eighty",
        }));
        Assert.Contains("environment: port: \"eighty\" is not allowed; use a whole number from 0 to 65535", error.Problems);

        var config = RelayConfigLoader.Parse(null, null, environment: new Dictionary<string, string> { ["PEERRELAY_PROT"] = "1" });
        Assert.Contains("environment: unknown key \"prot\" is ignored", config.Warnings);
    }

    [Fact]
    public async Task Serve_ReadsItsEnvironment()
    {
        const string Token = "process-env-token-0123456789";
        await using var relay = await RelayProcess.StartServeAsync(environment: new Dictionary<string, string>
        {
            ["PEERRELAY_ADMIN_TOKEN"] = Token,
            ["PEERRELAY_METRICS"] = "false",
        });
        using var http = new HttpClient { BaseAddress = MetricsEndpointTests.HttpUri(relay.Uri!) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/api/summary");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.UpgradeRequired, (await http.GetAsync(new Uri("/metrics", UriKind.Relative)).WithTimeout()).StatusCode);
    }
}
