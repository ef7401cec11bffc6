using System.Diagnostics;
using PeerRelay.Testing;

namespace PeerRelay.Benchmarks.Tests;

/// <summary>Runs the Python scripts under <c>benchmarks/</c> that turn a benchmark's raw lines into its report.</summary>
internal static class BenchmarkScripts
{
    /// <summary>Runs <c>benchmarks/<paramref name="script"/></c> with <paramref name="arguments"/>; returns what it printed, fails the test when it fails.</summary>
    public static async Task<string> RunAsync(string script, params string[] arguments)
    {
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(RepositoryPaths.Combine($"benchmarks/{script}"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // Only a guard against a hang: the script waits on nothing but the CPU, which a loaded test machine (load
        // average 55, seen) can withhold for longer than the 30 s that event waits get.
        await process.WaitForExitAsync().WithTimeout(TimeSpan.FromMinutes(3));
        Assert.True(process.ExitCode == 0, $"{script} exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
