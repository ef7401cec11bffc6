using System.CommandLine;
using System.Globalization;
using PeerRelay.Configuration;
using PeerRelay.Hosting;

namespace PeerRelay.Commands;

/// <summary>
/// <c>peerrelay serve</c>: reads the configuration, runs the relay until SIGINT/SIGTERM, then drains (clients closed with
/// 1001) and exits 0. Options are the reference's <c>proxystore-relay</c> options and override the file.
/// </summary>
internal static class ServeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var configOption = new Option<string?>("--config")
        {
            Description = "TOML configuration file (the reference relay's format; see docs/configuration.md).",
            HelpName = "FILE",
        };
        var hostOption = new Option<string?>("--host")
        {
            Description = "Interface to listen on: an IP address or host name. Default: every interface.",
            HelpName = "ADDR",
        };
        var portOption = new Option<int?>("--port")
        {
            Description = $"TCP port to listen on (0 picks a free one). Default: {RelayConfig.DefaultPort}.",
            HelpName = "N",
            CustomParser = result =>
            {
                var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
                if (int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
                {
                    return port;
                }

                result.AddError($"--port: \"{token}\" is not allowed; use a whole number from 0 to 65535");
                return null;
            },
        };
        var logDirOption = new Option<string?>("--log-dir")
        {
            Description = "Directory for weekly log files (peerrelay-YYYY-Www.log). Default: console only.",
            HelpName = "DIR",
        };
        var logLevelOption = new Option<string?>("--log-level")
        {
            Description = "Level of PeerRelay's logs: DEBUG, INFO, WARNING, ERROR or CRITICAL (any case). Default: INFO.",
            HelpName = "LEVEL",
        };

        var command = new Command("serve", "Run the relay server.")
        {
            configOption,
            hostOption,
            portOption,
            logDirOption,
            logLevelOption,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var overrides = new CommandLineOverrides(
                parseResult.GetValue(hostOption),
                parseResult.GetValue(portOption),
                parseResult.GetValue(logDirOption),
                parseResult.GetValue(logLevelOption));
            return RunAsync(parseResult.GetValue(configOption), overrides, parseResult.InvocationConfiguration.Error, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Gets or sets a value indicating whether this process is the <c>peerrelay</c> program itself (set by
    /// <c>Program.cs</c>), so process-wide runtime switches may be set; tests running commands in-process leave it off.
    /// </summary>
    internal static bool IsProcessEntryPoint { get; set; }

    /// <summary>Runs the relay with the file at <paramref name="configPath"/> and the overrides, until it is stopped.</summary>
    /// <param name="configPath">The configuration file, or null.</param>
    /// <param name="overrides">The command-line options.</param>
    /// <param name="error">Where start-up errors go.</param>
    /// <param name="cancellationToken">Stops the relay, as SIGTERM does.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string? configPath, CommandLineOverrides overrides, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(error);
        WebApplication app;
        try
        {
            var config = RelayConfigLoader.Load(configPath, overrides);
            if (config.InlineIo && IsProcessEntryPoint)
            {
                RelayHostBuilder.UseInlineSocketCompletions();
            }

            app = RelayHostBuilder.Build(config);
        }
        catch (RelayConfigException ex)
        {
            foreach (var warning in ex.Warnings)
            {
                await error.WriteLineAsync($"peerrelay: warning: {warning}");
            }

            foreach (var problem in ex.Problems)
            {
                await error.WriteLineAsync($"peerrelay: error: {problem}");
            }

            return ExitCodes.ConfigurationError;
        }

        await using (app)
        {
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException ex)
            {
                // Kestrel reports "address already in use" and "cannot assign requested address" this way.
                await error.WriteLineAsync($"peerrelay: error: cannot listen: {ex.Message}");
                return ExitCodes.Failure;
            }

            await app.WaitForShutdownAsync(cancellationToken);
        }

        return ExitCodes.Success;
    }
}
