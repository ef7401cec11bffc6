using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace PeerRelay.Testing;

/// <summary>
/// The real <c>peerrelay</c> command as a child process (<c>dotnet peerrelay.dll ...</c> from the build output, or the
/// executable named by <c>PEERRELAY_EXE</c>: a single-file or Native AOT build, an installed tool): start it on a free
/// port, wait for its "PeerRelay listening on" line, read its output, stop it with SIGTERM.
/// </summary>
public sealed partial class RelayProcess : IAsyncDisposable
{
    private const int SigInt = 2;
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly StringBuilder _output = new();
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly Task _exited;
    private readonly int _processId;

    private RelayProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Start();
        _processId = _process.Id;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _exited = _process.WaitForExitAsync();
    }

    /// <summary>Gets the relay's address from its listening line, e.g. <c>ws://127.0.0.1:41234/</c>; null before it is seen.</summary>
    public Uri? Uri { get; private set; }

    /// <summary>Gets the port from the listening line (0 before it is seen).</summary>
    public int Port => Uri?.Port ?? 0;

    /// <summary>Gets the process id.</summary>
    public int ProcessId => _processId;

    /// <summary>Gets whether the process has exited.</summary>
    public bool HasExited => _exited.IsCompleted;

    /// <summary>Gets everything the process wrote so far, standard output and error interleaved, one line each.</summary>
    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Gets the path of <c>peerrelay.dll</c>: <c>PEERRELAY_DLL</c> when set, otherwise the build output of
    /// <c>src/PeerRelay</c> in the same configuration as the running tests.
    /// </summary>
    public static string PeerRelayDllPath
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("PEERRELAY_DLL");
            if (!string.IsNullOrEmpty(fromEnvironment))
            {
                return fromEnvironment;
            }

            var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory);
            var framework = baseDirectory.Name;
            var configuration = baseDirectory.Parent?.Name ?? "Debug";
            for (var directory = baseDirectory; directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "PeerRelay.slnx")))
                {
                    var path = Path.Combine(directory.FullName, "src", "PeerRelay", "bin", configuration, framework, "peerrelay.dll");
                    return File.Exists(path)
                        ? path
                        : throw new FileNotFoundException($"peerrelay.dll is not built at {path}; build src/PeerRelay ({configuration}) first.", path);
                }
            }

            throw new DirectoryNotFoundException($"No PeerRelay.slnx above {AppContext.BaseDirectory}; set PEERRELAY_DLL.");
        }
    }

    /// <summary>
    /// Gets the <c>peerrelay</c> executable to run instead of <c>dotnet peerrelay.dll</c> (<c>PEERRELAY_EXE</c>), or null.
    /// <c>scripts/publish.sh --test</c> runs the process tests against the published binaries this way.
    /// </summary>
    public static string? PeerRelayExecutable =>
        Environment.GetEnvironmentVariable("PEERRELAY_EXE") is { Length: > 0 } path ? path : null;

    /// <summary>
    /// Starts <c>peerrelay serve</c> and waits for its listening line. By default it listens on 127.0.0.1 and a free
    /// port (<c>--host 127.0.0.1 --port 0</c> are added, overriding a config file's host and port; the port actually
    /// bound is read from the listening line). Fails with the process output when it exits or does not listen in time.
    /// </summary>
    /// <param name="arguments">More <c>serve</c> arguments, e.g. <c>--config FILE</c>, <c>--log-dir DIR</c>.</param>
    /// <param name="workingDirectory">The working directory; the current one when null.</param>
    /// <param name="timeout">How long to wait for the listening line.</param>
    /// <param name="environment">Extra environment variables for the process, or null.</param>
    /// <param name="freeLoopbackPort">Whether to add <c>--host 127.0.0.1 --port 0</c>; pass false to give them yourself.</param>
    /// <param name="executable">The <c>peerrelay</c> executable to run; null for the default (see <see cref="Launch"/>).</param>
    /// <returns>The running relay.</returns>
    public static async Task<RelayProcess> StartServeAsync(
        IEnumerable<string>? arguments = null,
        string? workingDirectory = null,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null,
        bool freeLoopbackPort = true,
        string? executable = null)
    {
        var all = new List<string> { "serve" };
        if (freeLoopbackPort)
        {
            all.AddRange(["--host", "127.0.0.1", "--port", "0"]);
        }

        all.AddRange(arguments ?? []);
        var relay = Launch(all, workingDirectory, environment, executable);
        try
        {
            var line = await relay.WaitForLineAsync(l => l.Contains("PeerRelay listening on ", StringComparison.Ordinal), timeout);
            var match = ListeningLine().Match(line);
            if (!match.Success)
            {
                throw new InvalidOperationException($"Cannot read the address from the listening line: {line}");
            }

            // "Every interface" is reached through loopback.
            var host = match.Groups["host"].Value is "0.0.0.0" or "[::]" ? "127.0.0.1" : match.Groups["host"].Value;
            relay.Uri = new Uri(string.Create(
                CultureInfo.InvariantCulture,
                $"{match.Groups["scheme"].Value}://{host}:{int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture)}/"));
            return relay;
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts <c>peerrelay</c> with <paramref name="arguments"/> and returns at once.</summary>
    /// <param name="arguments">The arguments, e.g. <c>serve --config FILE</c>.</param>
    /// <param name="workingDirectory">The working directory; the current one when null.</param>
    /// <param name="environment">Extra environment variables for the process, or null.</param>
    /// <param name="executable">
    /// The <c>peerrelay</c> executable to run; when null, <see cref="PeerRelayExecutable"/> if set, otherwise
    /// <c>dotnet</c> with <see cref="PeerRelayDllPath"/>.
    /// </param>
    /// <returns>The process.</returns>
    /// <remarks>
    /// The process starts with SIGINT at its default disposition, as a terminal or a service manager starts it, whatever
    /// the test runner inherited: a suite run as a background job of a non-interactive shell (<c>./test.sh &amp;</c>)
    /// ignores SIGINT, a child inherits that, and .NET respects an ignored SIGINT (no handler is installed), so
    /// <see cref="Interrupt"/> would do nothing. <c>env --default-signal=INT</c> (GNU coreutils) resets it and execs, so
    /// the process id stays the relay's.
    /// </remarks>
    public static RelayProcess Launch(
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? executable = null)
    {
        executable ??= PeerRelayExecutable;
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        if (!start.Environment.ContainsKey("PEERRELAY_SOCKET_TRANSPORT"))
        {
            start.Environment["PEERRELAY_SOCKET_TRANSPORT"] = TestTransport.Name;
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add("--default-signal=INT");
        if (executable is null)
        {
            start.ArgumentList.Add(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
            start.ArgumentList.Add(PeerRelayDllPath);
        }
        else
        {
            start.ArgumentList.Add(executable);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new RelayProcess(new Process { StartInfo = start });
    }

    /// <summary>Runs <c>peerrelay</c> with <paramref name="arguments"/> to its end.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <returns>The exit code and the output.</returns>
    public static Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) => RunExecutableAsync(null, arguments);

    /// <summary>Runs <paramref name="executable"/> (a <c>peerrelay</c>) with <paramref name="arguments"/> to its end.</summary>
    /// <param name="executable">The executable; null for the default (see <see cref="Launch"/>).</param>
    /// <param name="arguments">The arguments.</param>
    /// <returns>The exit code and the output.</returns>
    public static async Task<(int ExitCode, string Output)> RunExecutableAsync(string? executable, params string[] arguments)
    {
        await using var relay = Launch(arguments, executable: executable);
        var code = await relay.WaitForExitAsync();
        return (code, relay.Output);
    }

    /// <summary>Waits for an output line matching <paramref name="match"/> (lines already written count).</summary>
    /// <param name="match">The condition.</param>
    /// <param name="timeout">The deadline; <see cref="TaskTimeoutExtensions.DefaultTimeout"/> when null.</param>
    /// <returns>The line.</returns>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(match);
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            foreach (var line in _lines)
            {
                if (match(line))
                {
                    return line;
                }
            }

            _waiters.Add((match, done));
        }

        var finished = await Task.WhenAny(done.Task, _exited).WithTimeout(timeout, "a matching output line of peerrelay");
        if (finished == done.Task)
        {
            return await done.Task;
        }

        // The process ended; the line may have been among the last ones read.
        await Task.Yield();
        if (done.Task.IsCompleted)
        {
            return await done.Task;
        }

        throw new InvalidOperationException($"peerrelay exited with {_process.ExitCode} before printing the expected line. Output:\n{Output}");
    }

    /// <summary>Sends SIGTERM, as a service manager does.</summary>
    public void Terminate() => Signal(SigTerm);

    /// <summary>Sends SIGINT, as Ctrl+C does.</summary>
    public void Interrupt() => Signal(SigInt);

    /// <summary>Freezes the process (SIGSTOP): its sockets stay open, nothing is read or answered.</summary>
    public void Freeze() => Signal(SigStop);

    /// <summary>Thaws a frozen process (SIGCONT).</summary>
    public void Thaw() => Signal(SigCont);

    /// <summary>Sends SIGTERM and waits for the process to exit.</summary>
    /// <param name="timeout">The deadline; <see cref="TaskTimeoutExtensions.DefaultTimeout"/> when null.</param>
    /// <returns>The exit code.</returns>
    public Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!HasExited)
        {
            Terminate();
        }

        return WaitForExitAsync(timeout);
    }

    /// <summary>Waits for the process to exit (and its output to be read).</summary>
    /// <param name="timeout">The deadline; <see cref="TaskTimeoutExtensions.DefaultTimeout"/> when null.</param>
    /// <returns>The exit code.</returns>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        await _exited.WithTimeout(timeout, "peerrelay to exit");
        return _process.ExitCode;
    }

    /// <summary>Kills the process if it still runs, then releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            Signal(SigKill);
            try
            {
                await _exited.WithTimeout(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                // Nothing more to do; the test already failed or is ending.
            }
        }

        if (Environment.GetEnvironmentVariable("PEERRELAY_TEST_LOG_DIR") is { Length: > 0 } logs)
        {
            // For a flaky failure: every relay process's output kept, named by when it ended and its process id.
            Directory.CreateDirectory(logs);
            await File.WriteAllTextAsync(Path.Combine(logs, $"{DateTime.UtcNow:HHmmss.fff}-{_processId}.log"), Output);
        }

        _process.Dispose();
    }

    private void Signal(int signal)
    {
        if (Kill(_processId, signal) != 0 && !HasExited)
        {
            throw new InvalidOperationException($"kill({_processId}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>>? matched = null;
        lock (_lock)
        {
            _lines.Add(line);
            _output.Append(line).Append('\n');
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    (matched ??= []).Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        if (matched is not null)
        {
            foreach (var done in matched)
            {
                done.TrySetResult(line);
            }
        }
    }

    [GeneratedRegex(@"PeerRelay listening on (?<scheme>wss?)://(?<host>\S+):(?<port>\d+)")]
    private static partial Regex ListeningLine();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}
