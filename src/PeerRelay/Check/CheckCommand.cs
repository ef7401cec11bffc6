using System.CommandLine;

namespace PeerRelay.Check;

/// <summary>
/// The <c>check</c> subcommand: <c>peerrelay check URL [--token T] [--insecure] [--count N] [--timeout S]</c>.
/// Add it to the root command with <c>root.Subcommands.Add(CheckCommand.Create())</c>.
/// </summary>
internal static class CheckCommand
{
    /// <summary>The environment variable read for the token when <c>--token</c> is not given.</summary>
    public const string TokenVariable = "PEERRELAY_TOKEN";

    /// <summary>Builds the <c>check</c> command with its arguments, options and action.</summary>
    /// <returns>The command.</returns>
    public static Command Create()
    {
        var url = new Argument<string>("url")
        {
            Description = "The relay's address: ws://HOST:PORT/ or wss://HOST/.",
        };
        var token = new Option<string?>("--token")
        {
            Description = $"Bearer token sent in the Authorization header. Default: the {TokenVariable} environment variable, if set.",
        };
        var insecure = new Option<bool>("--insecure")
        {
            Description = "Accept any TLS certificate (self-signed, expired, wrong host).",
        };
        var count = new Option<int>("--count")
        {
            Description = "How many messages to send through the relay to this client itself and time (1 to 100000).",
            DefaultValueFactory = _ => 20,
        };
        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds each step (connect, register, one round trip) may take.",
            DefaultValueFactory = _ => 10,
        };

        var command = new Command("check", "Check that a relay is reachable, accepts TLS and the token, and time round trips through it.")
        {
            url,
            token,
            insecure,
            count,
            timeout,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var seconds = parse.GetValue(timeout);
            var settings = new CheckSettings(
                parse.GetValue(url)!,
                parse.GetValue(token) ?? Environment.GetEnvironmentVariable(TokenVariable),
                parse.GetValue(insecure),
                parse.GetValue(count),
                double.IsFinite(seconds) && seconds is > 0 and <= 3600 ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero);
            return CheckRunner.RunAsync(settings, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken);
        });
        return command;
    }
}
