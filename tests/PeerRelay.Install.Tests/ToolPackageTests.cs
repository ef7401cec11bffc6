using PeerRelay.Testing;

namespace PeerRelay.Install.Tests;

/// <summary>
/// <c>dotnet tool install PeerRelay</c>: the tool package installed from a local folder feed into a temporary tool
/// path, then <c>peerrelay --version</c>, <c>serve</c> and <c>check</c> run from there, as a user would.
/// </summary>
[Collection(PackagesGroup.Name)]
public sealed class ToolPackageTests(PackagesFixture packages)
{
    [Fact]
    public async Task ToolInstalledFromALocalFeed_RunsVersionServeAndCheck()
    {
        var tools = Path.Combine(packages.Directory, "tools");
        var config = Path.Combine(packages.Directory, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{packages.Feed}" />
              </packageSources>
            </configuration>
            """);

        // Only the local feed, and a package folder of its own: a stale PeerRelay of the same version in the user's
        // NuGet cache must not be what gets installed.
        var install = await Command.SucceedsAsync(
            "dotnet",
            ["tool", "install", "PeerRelay", "--version", packages.Version, "--tool-path", tools, "--configfile", config],
            new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(packages.Directory, "nuget-packages") });
        Assert.Contains("Tool 'peerrelay' (version '" + packages.Version + "') was successfully installed.", install, StringComparison.Ordinal);

        var peerrelay = Path.Combine(tools, "peerrelay");
        var (versionCode, version) = await RelayProcess.RunExecutableAsync(peerrelay, "--version");
        Assert.Equal(0, versionCode);
        Assert.StartsWith(packages.Version + "+", version.Trim(), StringComparison.Ordinal);

        await using var relay = await RelayProcess.StartServeAsync(executable: peerrelay);
        var (checkCode, check) = await RelayProcess.RunExecutableAsync(peerrelay, "check", relay.Uri!.ToString(), "--count", "5");
        Assert.True(checkCode == 0, check);
        Assert.Contains("OK: the relay accepted the connection and the registration, and returned 5 of 5 messages.", check, StringComparison.Ordinal);
        Assert.Equal(0, await relay.StopAsync());
    }
}
