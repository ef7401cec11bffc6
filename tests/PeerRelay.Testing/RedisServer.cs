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
    private readonly RedisServerOptions _options;
    private readonly string[] _cliArguments;
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RedisServer(int port, RedisServerOptions options)
    {
        Port = port;
        _options = options;
        _cliArguments = [
            "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture),
            .. options.Password is { } password ? (string[])["--no-auth-warning", "-a", password] : [],
            .. options.Tls is { } tls ? (string[])["--tls", "--cacert", tls.CaCertPath] : []];
    }

    /// <summary>Gets the TCP port (the TLS port of a server with <see cref="RedisServerOptions.Tls"/>, which has no other).</summary>
    public int Port { get; }

    /// <summary>
    /// Gets the StackExchange.Redis configuration string of this server's address (<c>127.0.0.1:port</c>); a test
    /// adds <c>password=</c>, <c>ssl=true</c> and the like as its server needs.
    /// </summary>
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
    public static Task<RedisServer> StartAsync(params string[] extraArguments) => StartAsync(new RedisServerOptions { Arguments = extraArguments });

    /// <summary>Starts a server (or a Sentinel) on a free port and waits until it accepts connections.</summary>
    /// <param name="options">What to start.</param>
    /// <returns>The running server.</returns>
    public static async Task<RedisServer> StartAsync(RedisServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var server = new RedisServer(FreePort.Next(), options);
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

    /// <summary>Kills the server (SIGKILL, as a crash) and waits for it to exit.</summary>
    /// <returns>A task that completes when it has exited.</returns>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            Signal(SigKill);
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
        foreach (var argument in (string[])[.. _cliArguments, .. arguments])
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
        var executable = _options.Sentinel ? "redis-sentinel" : "redis-server";
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var port = Port.ToString(CultureInfo.InvariantCulture);
        string[] listen = _options.Tls is { } tls
            ? ["--port", "0", "--tls-port", port, "--tls-cert-file", tls.CertPath, "--tls-key-file", tls.KeyPath,
                "--tls-ca-cert-file", tls.CaCertPath, "--tls-auth-clients", "no"]
            : ["--port", port];
        foreach (var argument in (string[])[
            .. _options.ConfigFile is { } file ? (string[])[file] : [],
            .. listen, "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no", "--protected-mode", "no",
            "--daemonize", "no", "--loglevel", "notice",
            .. _options.Password is { } password ? (string[])["--requirepass", password] : [], .. _options.Arguments])
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var ready = _ready;
        process.OutputDataReceived += (_, e) => OnLine(e.Data, ready);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, ready);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"{executable} exited before it was ready:\n{Output}"));
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException(
                $"{executable} cannot be started ({ex.Message}); install Debian's {executable} package (scripts/install-test-deps.sh).", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await ready.Task.WithTimeout(what: $"{executable} to accept connections");
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

        // A Sentinel is ready once it monitors its master; a server once it accepts connections.
        if (line.Contains(_options.Sentinel ? "+monitor master" : "Ready to accept connections", StringComparison.Ordinal))
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


    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}
