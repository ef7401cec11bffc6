using System.Diagnostics;
using System.Text.Json;

namespace PeerRelay.LoadTest;

/// <summary>
/// Runs a scenario in this process, or splits it over <c>--procs</c> child processes of this same program and
/// aggregates their results. Children talk over stdin/stdout: <c>@READY</c>, then <c>GO</c>, then
/// <c>@DONE {json}</c>, then <c>EXIT</c>.
/// </summary>
internal static class Coordinator
{
    public static async Task<LoadReport> RunAsync(LoadOptions options, CancellationToken cancellationToken = default)
    {
        var probe = new ServerProbe(options.ServerPids, options.AlsoPids);
        return options.Procs <= 1
            ? await RunInProcessAsync(options, probe, cancellationToken)
            : await RunChildrenAsync(options, probe, cancellationToken);
    }

    /// <summary>The child side: set up, wait for GO, run, report, wait for EXIT.</summary>
    public static async Task RunChildAsync(LoadOptions options, CancellationToken cancellationToken = default)
    {
        var context = new LoadContext(options);
        await using var scenario = ILoadScenario.Create(context);
        await scenario.SetupAsync(cancellationToken);
        Console.Out.WriteLine("@READY");
        await Console.Out.FlushAsync(cancellationToken);
        await WaitForLineAsync("GO");
        var result = await scenario.RunAsync(() => { }, () => { }, cancellationToken);
        result.Tls = context.NegotiatedTls;
        Console.Out.WriteLine("@DONE " + JsonSerializer.Serialize(result));
        await Console.Out.FlushAsync(cancellationToken);
        await WaitForLineAsync("EXIT");
    }

    private static async Task<LoadReport> RunInProcessAsync(LoadOptions options, ServerProbe probe, CancellationToken cancellationToken)
    {
        var context = new LoadContext(options);
        await using var scenario = ILoadScenario.Create(context);
        await scenario.SetupAsync(cancellationToken);
        (double User, double System) start = default, end = default;
        long rssBefore = 0;
        var result = await scenario.RunAsync(
            () =>
            {
                rssBefore = probe.RssKiB();
                start = probe.Cpu();
                probe.StartAlso();
            },
            () =>
            {
                end = probe.Cpu();
                probe.EndAlso();
            },
            cancellationToken);
        result.Tls = context.NegotiatedTls;
        var rss = await HoldAndMeasureAsync(options, probe, rssBefore, cancellationToken);
        return LoadReport.Create(options, result, result.WindowSeconds, probe.Enabled ? (end.User - start.User, end.System - start.System) : null, rss, probe.AlsoCpuMs);
    }

    private static async Task<LoadReport> RunChildrenAsync(LoadOptions options, ServerProbe probe, CancellationToken cancellationToken)
    {
        var children = new List<Process>();
        try
        {
            for (var i = 0; i < options.Procs; i++)
            {
                children.Add(StartChild(i));
            }

            foreach (var child in children)
            {
                await ReadUntilAsync(child, "@READY", cancellationToken);
            }

            var rssBefore = probe.RssKiB();
            var start = probe.Cpu();
            var started = Stopwatch.GetTimestamp();
            foreach (var child in children)
            {
                await child.StandardInput.WriteLineAsync("GO");
                await child.StandardInput.FlushAsync(cancellationToken);
            }

            var done = children.Select(c => ReadUntilAsync(c, "@DONE ", cancellationToken)).ToArray();
            (double User, double System) end;
            double window;
            if (options.Scenario == "connect")
            {
                await Task.WhenAll(done);
                end = probe.Cpu();
                window = Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
            else
            {
                await Task.Delay(TimeSpan.FromSeconds(options.Warmup), cancellationToken);
                start = probe.Cpu();
                probe.StartAlso();
                started = Stopwatch.GetTimestamp();
                await Task.Delay(TimeSpan.FromSeconds(options.Seconds), cancellationToken);
                end = probe.Cpu();
                probe.EndAlso();
                window = Stopwatch.GetElapsedTime(started).TotalSeconds;
            }

            var results = new List<WorkerResult>();
            foreach (var line in await Task.WhenAll(done))
            {
                results.Add(JsonSerializer.Deserialize<WorkerResult>(line["@DONE ".Length..])!);
            }

            var rss = await HoldAndMeasureAsync(options, probe, rssBefore, cancellationToken);
            foreach (var child in children)
            {
                await child.StandardInput.WriteLineAsync("EXIT");
                await child.StandardInput.FlushAsync(cancellationToken);
            }

            foreach (var child in children)
            {
                await child.WaitForExitAsync(cancellationToken);
            }

            var total = WorkerResult.Combine(results);
            return LoadReport.Create(options, total, window, probe.Enabled ? (end.User - start.User, end.System - start.System) : null, rss, probe.AlsoCpuMs);
        }
        finally
        {
            foreach (var child in children)
            {
                if (!child.HasExited)
                {
                    child.Kill();
                }

                child.Dispose();
            }
        }

        static Process StartChild(int index) =>
            SelfProcess.Start(redirectInput: true, "--child-index", index.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task<(long Before, long After)?> HoldAndMeasureAsync(LoadOptions options, ServerProbe probe, long rssBefore, CancellationToken cancellationToken)
    {
        if (options.Scenario != "connect" || !probe.Enabled)
        {
            return null;
        }

        await Task.Delay(TimeSpan.FromSeconds(options.Hold), cancellationToken);
        return (rssBefore, probe.RssKiB());
    }

    private static async Task<string> ReadUntilAsync(Process child, string prefix, CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await child.StandardOutput.ReadLineAsync(cancellationToken)
                ?? throw new InvalidOperationException($"load process {child.Id} exited before {prefix.Trim()} (exit code {(child.HasExited ? child.ExitCode : -1)})");
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }

            await Console.Error.WriteLineAsync($"[load {child.Id}] {line}");
        }
    }

    private static async Task WaitForLineAsync(string expected)
    {
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (line.Trim() == expected)
            {
                return;
            }
        }
    }
}
