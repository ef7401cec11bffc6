using System.Diagnostics;
using System.Globalization;
using PeerRelay.Client;

namespace PeerRelay.Check;

/// <summary>
/// <c>peerrelay check</c>: connects to a relay with <see cref="RelayClient"/>, registers, sends peer connection
/// requests to its own UUID through the relay, and reports the connect time, registration time and round-trip
/// percentiles; or, on failure, one sentence naming the cause and a distinct exit code (<see cref="CheckExitCode"/>).
/// </summary>
internal static class CheckRunner
{
    /// <summary>The description type of the probe messages.</summary>
    public const string ProbeType = "offer";

    /// <summary>Runs the check and returns the process exit code.</summary>
    /// <param name="settings">What to check.</param>
    /// <param name="output">Where the results go (standard output).</param>
    /// <param name="error">Where the failure sentence goes (standard error).</param>
    /// <param name="cancellationToken">Stops the check (Ctrl+C).</param>
    /// <returns>0 when the relay passed; otherwise a <see cref="CheckExitCode"/>.</returns>
    public static async Task<int> RunAsync(CheckSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (Validate(settings) is { } invalid)
        {
            await error.WriteLineAsync(invalid).ConfigureAwait(false);
            return (int)CheckExitCode.InvalidArguments;
        }

        var address = new Uri(settings.Address);
        var options = new RelayClientOptions
        {
            Address = address,
            Name = "peerrelay-check",
            AcceptAnyServerCertificate = settings.Insecure,
            ConnectTimeout = settings.Timeout,
            RegistrationTimeout = settings.Timeout,
            RetryPolicy = NeverRetry.Instance,
        };
        if (!string.IsNullOrEmpty(settings.Token))
        {
            options.Headers["Authorization"] = "Bearer " + settings.Token;
        }

        await output.WriteLineAsync($"Checking the relay at {address}").ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        TimeSpan connected = default, registered = default;
        await using var client = new RelayClient(options);
        client.StateChanged += (_, e) =>
        {
            if (e.State == RelayClientState.Registering)
            {
                connected = clock.Elapsed;
            }
            else if (e.State == RelayClientState.Registered)
            {
                registered = clock.Elapsed;
            }
        };

        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return await FailAsync(error, CheckFailure.From(ex, address)).ConfigureAwait(false);
        }

        await output.WriteLineAsync($"connected     {Ms(connected)}").ConfigureAwait(false);
        await output.WriteLineAsync($"registered    {Ms(registered - connected)}  (as {client.Uuid})").ConfigureAwait(false);

        var rounds = new List<TimeSpan>(settings.Count);
        for (var i = 1; i <= settings.Count; i++)
        {
            var probe = $"peerrelay-check {i}";
            using var step = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            step.CancelAfter(settings.Timeout);
            var started = Stopwatch.GetTimestamp();
            try
            {
                await client.SendAsync(client.Uuid, ProbeType, probe, step.Token).ConfigureAwait(false);
                while (true)
                {
                    var back = await client.Messages.ReadAsync(step.Token).ConfigureAwait(false);
                    if (back.Description != probe)
                    {
                        continue; // A late answer to an earlier probe.
                    }

                    if (back.Error is not null)
                    {
                        return await FailAsync(error, new CheckFailure(CheckExitCode.ForwardingFailed,
                            $"The relay did not deliver a message to this client's own UUID: {back.Error}")).ConfigureAwait(false);
                    }

                    break;
                }
            }
            catch (OperationCanceledException) when (step.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return await FailAsync(error, new CheckFailure(CheckExitCode.Timeout,
                    $"Timed out: the relay did not return round trip {i} of {settings.Count} within {Seconds(settings.Timeout)} s.")).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return await FailAsync(error, CheckFailure.From(ex, address)).ConfigureAwait(false);
            }

            rounds.Add(Stopwatch.GetElapsedTime(started));
        }

        rounds.Sort();
        await output.WriteLineAsync(
            $"round trip    p50 {Ms(Percentile(rounds, 0.50))}  p90 {Ms(Percentile(rounds, 0.90))}  p99 {Ms(Percentile(rounds, 0.99))}  max {Ms(rounds[^1])}  ({rounds.Count} messages)")
            .ConfigureAwait(false);
        await output.WriteLineAsync(
            $"OK: the relay accepted the connection and the registration, and returned {rounds.Count} of {settings.Count} messages.")
            .ConfigureAwait(false);
        return (int)CheckExitCode.Ok;
    }

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    internal static TimeSpan Percentile(List<TimeSpan> sorted, double quantile)
    {
        var rank = (int)Math.Ceiling(quantile * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    private static string? Validate(CheckSettings settings)
    {
        if (!Uri.TryCreate(settings.Address, UriKind.Absolute, out var uri) || (uri.Scheme != "ws" && uri.Scheme != "wss"))
        {
            return $"The address must start with ws:// or wss:// (got '{settings.Address}').";
        }

        if (settings.Count is < 1 or > 100_000)
        {
            return $"--count must be between 1 and 100000 (got {settings.Count}).";
        }

        if (settings.Timeout <= TimeSpan.Zero || settings.Timeout > TimeSpan.FromHours(1))
        {
            return $"--timeout must be more than 0 and at most 3600 seconds (got {Seconds(settings.Timeout)}).";
        }

        return null;
    }

    private static async Task<int> FailAsync(TextWriter error, CheckFailure failure)
    {
        await error.WriteLineAsync(failure.Sentence).ConfigureAwait(false);
        return (int)failure.ExitCode;
    }

    private static string Ms(TimeSpan value) => value.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture) + " ms";

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>The check reports the first failure; retrying would hide it.</summary>
    private sealed class NeverRetry : IRelayRetryPolicy
    {
        public static readonly NeverRetry Instance = new();

        public TimeSpan? NextRetryDelay(RelayRetryContext context) => null;
    }
}
