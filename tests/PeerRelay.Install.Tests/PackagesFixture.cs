using PeerRelay.Testing;

namespace PeerRelay.Install.Tests;

/// <summary>
/// Packs the three packages once, from the build the tests run against (<c>dotnet pack --no-build</c>), into a
/// temporary folder that serves as a local NuGet feed.
/// </summary>
public sealed class PackagesFixture : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();

    public string Feed => _directory.File("feed");

    public string Directory => _directory.Path;

    public string Version { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        foreach (var project in new[] { "src/PeerRelay", "src/PeerRelay.Client", "src/PeerRelay.Protocol" })
        {
            await Command.SucceedsAsync("dotnet", ["pack", project, "-c", Command.Configuration, "--no-build", "--nologo", "-o", Feed]);
        }

        var tool = System.IO.Directory.GetFiles(Feed, "PeerRelay.*.nupkg")
            .Select(Path.GetFileName)
            .Single(name => name!.Length > "PeerRelay.".Length && char.IsDigit(name["PeerRelay.".Length]))!;
        Version = tool["PeerRelay.".Length..^".nupkg".Length];
    }

    public Task DisposeAsync()
    {
        _directory.Dispose();
        return Task.CompletedTask;
    }

    public string Package(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");
}

/// <summary>The tests that share one packing of the packages.</summary>
[CollectionDefinition(Name)]
public sealed class PackagesGroup : ICollectionFixture<PackagesFixture>
{
    public const string Name = "Packages";
}
