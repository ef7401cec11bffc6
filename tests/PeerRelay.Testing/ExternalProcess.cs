using System.Diagnostics;
using System.Text;

namespace PeerRelay.Testing;

/// <summary>
/// A real child process (a Python peer, the Chromium driver, nginx) whose output lines a test can await. Killed with its
/// children on dispose, so a failed test leaves nothing running.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly List<string> _stdout = [];
    private readonly StringBuilder _all = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Signal)> _waiters = [];
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ExternalProcess(string label, Process process)
    {
        Label = label;
        _process = process;
    }

    public string Label { get; }

    /// <summary>Gets stdout and stderr so far, interleaved, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _all.ToString();
            }
        }
    }

    /// <summary>Gets the stdout lines so far.</summary>
    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            lock (_lock)
            {
                return [.. _stdout];
            }
        }
    }

    public static ExternalProcess Start(
        string label,
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        if (!File.Exists(fileName) && !fileName.Contains('/', StringComparison.Ordinal))
        {
            fileName = FindOnPath(fileName) ?? throw new InvalidOperationException($"{fileName} is not installed (not on PATH); run scripts/install-test-deps.sh.");
        }

        if (!File.Exists(fileName))
        {
            throw new InvalidOperationException($"{fileName} is not installed; run scripts/install-test-deps.sh.");
        }

        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryPaths.Root,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["PYTHONUNBUFFERED"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var external = new ExternalProcess(label, process);
        process.OutputDataReceived += (_, e) => external.OnLine(e.Data, stdout: true);
        process.ErrorDataReceived += (_, e) => external.OnLine(e.Data, stdout: false);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return external;
    }

    /// <summary>Waits for a stdout line that matches; fails with the output so far if the process exits first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan? timeout = null)
    {
        var signal = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            var seen = _stdout.Find(line => match(line));
            if (seen is not null)
            {
                return seen;
            }

            _waiters.Add((match, signal));
        }

        var exited = WaitForOutputEndAsync();
        var first = await Task.WhenAny(signal.Task, exited).WithTimeout(timeout, $"{Label}: {what}");
        if (first != signal.Task)
        {
            throw new InvalidOperationException($"{Label} exited with {_process.ExitCode} before {what}. Output:\n{Output}");
        }

        return await signal.Task;
    }

    /// <summary>Waits for the process to exit (killing it on time-out) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        try
        {
            await WaitForOutputEndAsync().WithTimeout(timeout, $"{Label} to exit");
        }
        catch (TimeoutException ex)
        {
            Kill();
            throw new TimeoutException($"{ex.Message}. Output:\n{Output}", ex);
        }

        return _process.ExitCode;
    }

    private async Task WaitForOutputEndAsync()
    {
        await _process.WaitForExitAsync();
        await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task);
    }

    private void OnLine(string? line, bool stdout)
    {
        List<TaskCompletionSource<string>>? matched = null;
        lock (_lock)
        {
            if (line is null)
            {
                (stdout ? _stdoutClosed : _stderrClosed).TrySetResult();
                return;
            }

            _all.Append(stdout ? "out| " : "err| ").AppendLine(line);
            if (!stdout)
            {
                return;
            }

            _stdout.Add(line);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    (matched ??= []).Add(_waiters[i].Signal);
                    _waiters.RemoveAt(i);
                }
            }
        }

        matched?.ForEach(signal => signal.TrySetResult(line));
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
        }

        _process.Dispose();
    }
}
