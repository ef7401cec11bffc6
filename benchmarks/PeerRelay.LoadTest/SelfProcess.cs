using System.Diagnostics;

namespace PeerRelay.LoadTest;

/// <summary>Starts another process of this same load generator, with this one's arguments and a few more.</summary>
internal static class SelfProcess
{
    /// <summary>Starts it with standard output (and, when asked, input) redirected; throws when it cannot start.</summary>
    public static Process Start(bool redirectInput, params string[] moreArguments) => Start(redirectInput, niceness: 0, moreArguments);

    /// <summary>
    /// Starts it as <see cref="Start(bool, string[])"/>; with a <paramref name="niceness"/> above 0, detached and below
    /// this process's priority: <c>/bin/sh</c> starts it in the background under <c>nice</c> and exits at once, so
    /// this process never waits for it (it is not its child): read its standard output to the end to wait for it. (.NET's
    /// SIGCHLD handling was seen spinning at 100 % of a core, and the awaiting code never woken, when a direct child
    /// that had held stalled sockets exited.)
    /// </summary>
    public static Process Start(bool redirectInput, int niceness, params string[] moreArguments)
    {
        var info = new ProcessStartInfo(niceness > 0 ? "/bin/sh" : Environment.ProcessPath!)
        {
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (niceness > 0)
        {
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add($"nice -n {niceness} \"$0\" \"$@\" &");
            info.ArgumentList.Add(Environment.ProcessPath!);
        }

        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            info.ArgumentList.Add(typeof(SelfProcess).Assembly.Location);
        }

        foreach (var arg in Environment.GetCommandLineArgs().Skip(1).Concat(moreArguments))
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start a load process");
    }
}
