using System.Diagnostics;
using System.Text;
using PeerRelay.Testing;

namespace PeerRelay.Install.Tests;

/// <summary>Runs a program to its end and returns its exit code and output (standard output and error together).</summary>
internal static class Command
{
    /// <summary>How long a build step (pack, tool install) may take on a busy 2-core machine.</summary>
    public static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    public static async Task<(int Code, string Output)> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryPaths.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        var gate = new Lock();
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WithTimeout(timeout ?? BuildTimeout, $"{fileName} {string.Join(' ', arguments)}");
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        lock (gate)
        {
            return (process.ExitCode, output.ToString());
        }

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (gate)
                {
                    output.Append(line).Append('\n');
                }
            }
        }
    }

    /// <summary>Runs <paramref name="fileName"/> and fails the test with its output unless it exits 0.</summary>
    public static async Task<string> SucceedsAsync(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        var list = arguments.ToList();
        var (code, output) = await RunAsync(fileName, list, environment, timeout: timeout);
        Assert.True(code == 0, $"`{fileName} {string.Join(' ', list)}` exited {code}:\n{output}");
        return output;
    }

    /// <summary>The build configuration the tests run in (Release under test.sh), for --no-build packing.</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
}
