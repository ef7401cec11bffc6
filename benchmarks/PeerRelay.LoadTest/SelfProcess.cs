using System.Diagnostics;

namespace PeerRelay.LoadTest;

/// <summary>Starts another process of this same load generator, with this one's arguments and a few more.</summary>
internal static class SelfProcess
{
    /// <summary>Starts it with standard output (and, when asked, input) redirected; throws when it cannot start.</summary>
    public static Process Start(bool redirectInput, params string[] moreArguments)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
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
