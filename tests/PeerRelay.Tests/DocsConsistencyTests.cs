using System.Text.RegularExpressions;
using PeerRelay.Commands;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary>What the docs and samples tell a new user to run or look for matches the code.</summary>
public sealed partial class DocsConsistencyTests
{
    [Fact]
    public void EveryPeerRelayCommandLineInTheDocsAndSamples_Parses()
    {
        var checkedLines = 0;
        foreach (var file in MarkdownFiles())
        {
            foreach (Match block in ShellBlock().Matches(File.ReadAllText(file)))
            {
                foreach (var raw in block.Groups["body"].Value.Split('\n'))
                {
                    var match = CommandLine().Match(raw);
                    var arguments = match.Success ? match.Groups["args"].Value.Split('#')[0].Trim() : null;

                    // A synopsis ("serve [--config FILE]") or a line of shell plumbing is not a command to parse.
                    if (arguments is null || arguments.Contains('[', StringComparison.Ordinal) || arguments.IndexOfAny(['|', '>', '&', '$', '\\']) >= 0)
                    {
                        continue;
                    }

                    var parsed = PeerRelayCommand.Create().Parse(arguments);
                    Assert.True(
                        parsed.Errors.Count == 0,
                        $"{Path.GetRelativePath(RepositoryPaths.Root, file)}: `{raw.Trim()}` is not a peerrelay command line: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
                    checkedLines++;
                }
            }
        }

        Assert.True(checkedLines >= 8, $"only {checkedLines} peerrelay command lines found in the docs");
    }

    [Fact]
    public void TheDocs_DoNotSendTheReaderOutsideTheRepository()
    {
        foreach (var file in MarkdownFiles())
        {
            var text = File.ReadAllText(file);
            foreach (var outside in new[] { "shared folder", "PROTOCOL.md", "seed/", "/work/" })
            {
                Assert.False(
                    text.Contains(outside, StringComparison.Ordinal),
                    $"{Path.GetRelativePath(RepositoryPaths.Root, file)} refers to \"{outside}\", which is not in the repository");
            }
        }
    }

    [Fact]
    public void OperationsDoc_ListsEveryReasonAMessageIsDroppedFor()
    {
        var row = File.ReadAllLines(RepositoryPaths.Combine("docs/operations.md"))
            .Single(l => l.StartsWith("| ", StringComparison.Ordinal) && l.Contains("| `peerrelay.messages.dropped` |", StringComparison.Ordinal));
        var reasons = Directory.EnumerateFiles(RepositoryPaths.Combine("src"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => DroppedReason().Matches(File.ReadAllText(f)).Select(m => m.Groups["reason"].Value))
            .Distinct()
            .ToList();

        Assert.Contains("rate_limited", reasons);
        Assert.All(reasons, reason => Assert.Contains($"`{reason}`", row, StringComparison.Ordinal));
    }

    private static IEnumerable<string> MarkdownFiles() =>
        new[] { RepositoryPaths.Combine("README.md") }
            .Concat(Directory.EnumerateFiles(RepositoryPaths.Combine("docs"), "*.md"))
            .Concat(Directory.EnumerateFiles(RepositoryPaths.Combine("samples"), "*.md", SearchOption.AllDirectories));

    [GeneratedRegex("```(?:sh|bash|console|shell)\\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();

    [GeneratedRegex(@"^\s*(?:\$\s+)?(?:sudo\s+)?(?:peerrelay|dotnet run --project src/PeerRelay --)\s+(?<args>.+)$")]
    private static partial Regex CommandLine();

    [GeneratedRegex("MessageDropped\\(\"(?<reason>[a-z_]+)\"")]
    private static partial Regex DroppedReason();
}
