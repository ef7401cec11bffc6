using System.Text.RegularExpressions;
using PeerRelay.Configuration;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary>The example files in docs/configuration.md parse, with no unknown keys.</summary>
public sealed partial class DocsExampleTests
{
    [Fact]
    public void EveryTomlExampleInTheDocs_ParsesWithoutWarnings()
    {
        var examples = TomlBlock().Matches(File.ReadAllText(ConfigurationDoc())).Select(m => m.Groups["toml"].Value).ToList();

        Assert.True(examples.Count >= 2, "docs/configuration.md should hold the ProxyStore and the PeerRelay example");
        foreach (var example in examples)
        {
            var config = RelayConfigLoader.Parse(example, "example.toml");
            Assert.Empty(config.Warnings);
            Assert.Equal(8700, config.Port);
        }
    }

    private static string ConfigurationDoc() => RepositoryPaths.Combine("docs/configuration.md");

    [GeneratedRegex("```toml\\n(?<toml>.*?)```", RegexOptions.Singleline)]
    private static partial Regex TomlBlock();
}
