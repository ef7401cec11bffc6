using System.CommandLine;
using System.CommandLine.Invocation;

namespace PeerRelay.Commands;

/// <summary>
/// The root <c>peerrelay</c> command. Every subcommand is a factory in this folder (<c>XxxCommand.Create()</c>) added in
/// <see cref="Create"/>, the one place the command tree is built.
/// </summary>
internal static class PeerRelayCommand
{
    /// <summary>Builds the command tree.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand("PeerRelay: a WebRTC relay (signaling) server, wire-compatible with the ProxyStore relay.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(PeerRelay.Check.CheckCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>. A command-line error prints the problem and exits with
    /// <see cref="ExitCodes.ConfigurationError"/>, like a bad value in the configuration file.
    /// </summary>
    /// <param name="args">The arguments, without the program name.</param>
    /// <param name="output">Standard output; <see cref="Console.Out"/> when null.</param>
    /// <param name="error">Standard error; <see cref="Console.Error"/> when null.</param>
    /// <param name="cancellationToken">Stops a running server.</param>
    /// <returns>The process exit code (<see cref="ExitCodes"/>).</returns>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter? output = null,
        TextWriter? error = null,
        CancellationToken cancellationToken = default)
    {
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,

            // The ASP.NET Core host handles SIGINT/SIGTERM itself (drain, close clients with 1001, exit 0);
            // System.CommandLine's own handler would race it and force exit code 130/143.
            ProcessTerminationTimeout = null,
        };

        var parseResult = Create().Parse(args);
        if (parseResult.Errors.Count > 0 && parseResult.Action is ParseErrorAction)
        {
            foreach (var parseError in parseResult.Errors)
            {
                await configuration.Error.WriteLineAsync($"peerrelay: error: {parseError.Message}");
            }

            await configuration.Error.WriteLineAsync("Run 'peerrelay --help' for usage.");
            return ExitCodes.ConfigurationError;
        }

        return await parseResult.InvokeAsync(configuration, cancellationToken);
    }
}
