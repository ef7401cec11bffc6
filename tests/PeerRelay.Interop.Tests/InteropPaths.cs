using PeerRelay.Testing;

namespace PeerRelay.Interop.Tests;

/// <summary>Where the interop programs and the test artifacts live, found from the repository root.</summary>
internal static class InteropPaths
{
    /// <summary>Debian's interpreter: it has python3-aiortc (the pyenv <c>python3</c> on PATH does not).</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Debian's Chromium, driven by playwright-core.</summary>
    public const string Chromium = "/usr/bin/chromium";

    public static string RepositoryRoot => RepositoryPaths.Root;

    public static string PythonPeer => Path.Combine(RepositoryRoot, "tests", "interop", "python", "peer.py");

    public static string BrowserDirectory => Path.Combine(RepositoryRoot, "tests", "interop", "browser");

    public static string BrowserDriver => Path.Combine(BrowserDirectory, "run.mjs");

    /// <summary>A fresh folder under <c>.test-output/artifacts/interop/</c> for one test's screenshots.</summary>
    public static string Artifacts(string testName)
    {
        var directory = Path.Combine(RepositoryRoot, ".test-output", "artifacts", "interop", testName);
        Directory.CreateDirectory(directory);
        return directory;
    }
}
