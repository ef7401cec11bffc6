using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace PeerRelay.Testing;

/// <summary>
/// A real <c>redis-server</c> (Debian's, on the PATH) as a child process on 127.0.0.1 and a free port, without
/// persistence; never the system service. It can be frozen (SIGSTOP), thawed, stopped and started again on the same
/// port. Disposing kills it.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int SigStop = 19;
    private const int SigCont = 18;

    private readonly Lock _lock = new();
    private readonly StringBuilder _output = new();
    private Process? _process;
    private readonly string[] _extraArguments;
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RedisServer(int port, string[] extraArguments)
    {
        Port = port;
        _extraArguments = extraArguments;
    }

    /// <summary>Gets the TCP port.</summary>
    public int Port { get; }

    /// <summary>Gets the StackExchange.Redis configuration string of this server.</summary>
    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>Gets everything the server wrote.</summary>
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

    /// <summary>Starts a server on a free port and waits until it accepts connections.</summary>
    /// <param name="extraArguments">More <c>redis-server</c> options (e.g. <c>--cluster-enabled yes</c>).</param>
    /// <returns>The running server.</returns>
    public static async Task<RedisServer> StartAsync(params string[] extraArguments)
    {
        var server = new RedisServer(FreePort(), extraArguments);
        try
        {
            await server.StartProcessAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Freezes the server (SIGSTOP): connections stay open, nothing is answered.</summary>
    public void Freeze() => Signal(SigStop);

    /// <summary>Thaws a frozen server (SIGCONT).</summary>
    public void Thaw() => Signal(SigCont);

    /// <summary>Stops the server (SIGTERM) and waits for it to exit; its data is gone (no persistence).</summary>
    /// <returns>A task that completes when it has exited.</returns>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            Signal(SigTerm);
            await process.WaitForExitAsync().WithTimeout();
        }
    }

    /// <summary>Starts the server again on the same port, empty.</summary>
    /// <returns>A task that completes when it accepts connections.</returns>
    public Task RestartAsync()
    {
        _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return StartProcessAsync();
    }

    /// <summary>Runs one command with <c>redis-cli</c> and returns its output.</summary>
    /// <param name="arguments">The command and its arguments.</param>
    /// <returns>The output, trimmed.</returns>
    public async Task<string> CliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync().WithTimeout();
        await process.WaitForExitAsync().WithTimeout();
        return output.Trim();
    }

    /// <summary>Kills the server (after thawing it, if frozen).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                Signal(SigCont);
                Signal(SigKill);
                await process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(10));
            }

            process.Dispose();
        }
    }

    private async Task StartProcessAsync()
    {
        _process?.Dispose();
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty,
            "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no", "--loglevel", "notice", .. _extraArguments])
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var ready = _ready;
        process.OutputDataReceived += (_, e) => OnLine(e.Data, ready);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, ready);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"redis-server exited before it was ready:\n{Output}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await ready.Task.WithTimeout(what: "redis-server to accept connections");
    }

    private void OnLine(string? line, TaskCompletionSource ready)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _output.Append(line).Append('\n');
        }

        if (line.Contains("Ready to accept connections", StringComparison.Ordinal))
        {
            ready.TrySetResult();
        }
    }

    private void Signal(int signal)
    {
        if (_process is { HasExited: false } process)
        {
            _ = Kill(process.Id, signal);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}
