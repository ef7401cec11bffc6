using System.Text.Json.Nodes;
using PeerRelay.Testing;
using Xunit.Sdk;

namespace PeerRelay.Interop.Tests;

/// <summary>Starts the real peers of the interop tests, after checking that what they need is installed.</summary>
internal static class InteropPeers
{
    /// <summary>Every interop exchange finishes in seconds; this bounds a whole run of one peer.</summary>
    public static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(50);

    private static readonly Lazy<Task> PythonCheck = new(CheckPythonAsync);

    /// <summary>Fails (never skips) when Debian's python3, python3-aiortc or python3-websockets is missing.</summary>
    public static Task RequirePythonAsync() => PythonCheck.Value;

    /// <summary>Fails (never skips) when Chromium, node or playwright-core is missing.</summary>
    public static void RequireBrowser()
    {
        if (!File.Exists(InteropPaths.Chromium))
        {
            throw new XunitException($"Chromium is not installed at {InteropPaths.Chromium} (Debian package chromium); run scripts/install-test-deps.sh.");
        }

        if (!File.Exists(Path.Combine(InteropPaths.BrowserDirectory, "node_modules", "playwright-core", "package.json")))
        {
            throw new XunitException($"playwright-core is not installed in {InteropPaths.BrowserDirectory}/node_modules; run scripts/install-test-deps.sh (npm ci there).");
        }
    }

    /// <summary>Starts tests/interop/python/peer.py against <paramref name="relay"/> with 127.0.0.1 candidates only.</summary>
    public static ExternalProcess StartPython(string label, Uri relay, string role, Guid uuid, params string[] extra)
    {
        string[] arguments =
        [
            InteropPaths.PythonPeer, "--relay", relay.ToString(), "--role", role, "--uuid", uuid.ToString(), "--name", label,
            "--loopback-only", "--timeout", "45", .. extra,
        ];
        return ExternalProcess.Start(label, InteropPaths.Python, arguments);
    }

    /// <summary>Starts tests/interop/browser/run.mjs (headless Chromium) for <paramref name="scenario"/>.</summary>
    public static ExternalProcess StartBrowser(string scenario, Uri relay, string artifacts, params string[] extra)
    {
        var http = new UriBuilder(relay) { Scheme = "http" }.Uri.ToString();
        string[] arguments = [InteropPaths.BrowserDriver, scenario, "--base", http, "--out", artifacts, .. extra];
        return ExternalProcess.Start($"chromium {scenario}", "node", arguments, InteropPaths.BrowserDirectory);
    }

    /// <summary>Waits for the process to exit 0 and returns its last JSON line with the given <c>event</c> (or the last line).</summary>
    public static async Task<JsonObject> SucceedsAsync(ExternalProcess process, string? finalEvent = null)
    {
        var code = await process.WaitForExitAsync(PeerTimeout);
        Assert.True(code == 0, $"{process.Label} exited with {code}. Output:\n{process.Output}");
        var line = process.StdoutLines.LastOrDefault(l => finalEvent is null || l.Contains($"\"event\": \"{finalEvent}\"", StringComparison.Ordinal))
            ?? throw new XunitException($"{process.Label} printed no {finalEvent ?? "result"} line. Output:\n{process.Output}");
        return JsonNode.Parse(line)!.AsObject();
    }

    public static bool IsEvent(string line, string name) => line.Contains($"\"event\": \"{name}\"", StringComparison.Ordinal);

    private static async Task CheckPythonAsync()
    {
        if (!File.Exists(InteropPaths.Python))
        {
            throw new XunitException($"Debian's Python is not installed at {InteropPaths.Python} (package python3); run scripts/install-test-deps.sh.");
        }

        await using var check = ExternalProcess.Start("python check", InteropPaths.Python, ["-c", "import aiortc, websockets"]);
        if (await check.WaitForExitAsync(TimeSpan.FromSeconds(30)) != 0)
        {
            throw new XunitException(
                $"python3-aiortc or python3-websockets is missing for {InteropPaths.Python}; run scripts/install-test-deps.sh. Output:\n{check.Output}");
        }
    }
}
