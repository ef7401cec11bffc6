using System.Globalization;
using System.Text.RegularExpressions;
using PeerRelay.Testing;

namespace PeerRelay.Install.Tests;

/// <summary>
/// deploy/systemd/peerrelay.service: <c>systemd-analyze verify</c> is clean, <c>systemd-analyze security</c> rates its
/// hardening OK, and the SIGTERM drain of the shipped deploy/relay.toml ends within its TimeoutStopSec.
/// </summary>
public sealed partial class SystemdUnitTests : IDisposable
{
    private const string InstalledBinary = "/usr/local/bin/peerrelay";

    private static readonly string Unit = RepositoryPaths.Combine("deploy/systemd/peerrelay.service");

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task SystemdAnalyzeVerify_IsClean()
    {
        // verify also checks that ExecStart's program exists: point it, and only it, at a real peerrelay executable
        // (the build's apphost), since nothing is installed in /usr/local/bin on a test machine.
        var text = await File.ReadAllTextAsync(Unit);
        Assert.True(Regex.Count(text, $"^ExecStart={Regex.Escape(InstalledBinary)} ", RegexOptions.Multiline) == 1, $"one ExecStart={InstalledBinary} expected");
        var apphost = Path.ChangeExtension(RelayProcess.PeerRelayDllPath, null);
        Assert.True(File.Exists(apphost), $"no apphost at {apphost}");
        var copy = _directory.WriteFile("peerrelay.service", text.Replace("ExecStart=" + InstalledBinary + " ", "ExecStart=" + apphost + " ", StringComparison.Ordinal));

        var (code, output) = await Command.RunAsync("systemd-analyze", ["verify", "--man=no", copy]);

        Assert.True(code == 0 && output.Trim().Length == 0, $"systemd-analyze verify exited {code}:\n{output}");
    }

    [Fact]
    public async Task SystemdAnalyzeSecurity_RatesTheHardeningOk()
    {
        var (code, output) = await Command.RunAsync("systemd-analyze", ["security", "--offline=yes", "--no-pager", Unit]);

        Assert.True(code == 0, output);
        var overall = ExposureLine().Match(output);
        Assert.True(overall.Success, output);
        var exposure = double.Parse(overall.Groups["score"].Value, CultureInfo.InvariantCulture);
        Assert.True(exposure <= 2.0, $"exposure {exposure} ({overall.Groups["rating"].Value}); expected OK at 2.0 or less:\n{output}");
        Assert.Equal("OK", overall.Groups["rating"].Value);

        // What a reviewer looks for first, stated in the unit itself.
        var unit = await File.ReadAllLinesAsync(Unit);
        foreach (var directive in new[] { "DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=", "PrivateTmp=yes", "ProtectHome=yes" })
        {
            Assert.Contains(directive, unit);
        }

        Assert.Contains(unit, l => l.StartsWith("LimitNOFILE=", StringComparison.Ordinal) && int.Parse(l["LimitNOFILE=".Length..], CultureInfo.InvariantCulture) >= 65536);
    }

    [Fact]
    public async Task Sigterm_DrainsWithinTimeoutStopSec_WithTheShippedConfig()
    {
        var unit = await File.ReadAllLinesAsync(Unit);
        Assert.Contains("KillSignal=SIGTERM", unit);
        var timeoutStop = Seconds(unit.Single(l => l.StartsWith("TimeoutStopSec=", StringComparison.Ordinal))["TimeoutStopSec=".Length..]);
        var config = RepositoryPaths.Combine("deploy/relay.toml");
        var closeTimeout = TimeSpan.FromSeconds(int.Parse(CloseTimeoutLine().Match(await File.ReadAllTextAsync(config)).Groups["seconds"].Value, CultureInfo.InvariantCulture));

        // The host's own bound on stopping is close_timeout + 3 s (RelayHostBuilder.ShutdownMargin); systemd must not
        // SIGKILL before that.
        Assert.True(timeoutStop >= closeTimeout + TimeSpan.FromSeconds(3) + TimeSpan.FromSeconds(5), $"TimeoutStopSec {timeoutStop} leaves too little room after close_timeout {closeTimeout}");

        // The unit's command line, on a free loopback port: serve --config /etc/peerrelay/relay.toml.
        await using var relay = await RelayProcess.StartServeAsync(["--config", config]);
        await using var polite = await TestRelayClient.ConnectAsync(relay.Uri!);
        await polite.RegisterAsync(Guid.NewGuid());

        // Never reads, so never answers the close: the drain runs to close_timeout, the worst case systemd waits for.
        await using var silent = await TestRelayClient.ConnectAsync(relay.Uri!);
        await silent.RegisterAsync(Guid.NewGuid());

        relay.Terminate();

        Assert.Equal(1001, (await polite.ReceiveCloseAsync()).Code);
        Assert.Equal(0, await relay.WaitForExitAsync(timeoutStop));
    }

    private static TimeSpan Seconds(string value) =>
        TimeSpan.FromSeconds(int.Parse(value.TrimEnd('s'), CultureInfo.InvariantCulture));

    [GeneratedRegex(@"Overall exposure level for \S+: (?<score>\d+\.\d+) (?<rating>\w+)")]
    private static partial Regex ExposureLine();

    [GeneratedRegex(@"^close_timeout = (?<seconds>\d+)$", RegexOptions.Multiline)]
    private static partial Regex CloseTimeoutLine();
}
