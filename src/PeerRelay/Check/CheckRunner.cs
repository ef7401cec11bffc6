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

    /// <summary>Round trips made before timing starts, so one-time start-up costs of this process are not counted.</summary>
    public const int WarmUpMessages = 3;

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
        await output.WriteLineAsync($"Checking the relay at {address}").ConfigureAwait(false);

        // The first connection pays for loading and compiling the TLS and WebSocket code in this process, which says
        // nothing about the relay: it decides pass or fail, a second connection after a warm-up gives the times.
        var cold = new Timing();
        await using var client = new RelayClient(Options(settings, address));
        cold.Observe(client);
        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return await FailAsync(error, CheckFailure.From(ex, address)).ConfigureAwait(false);
        }

        var warmUp = Math.Min(WarmUpMessages, settings.Count);
        for (var i = 1; i <= warmUp; i++)
        {
            if (await RoundTripAsync(client, $"peerrelay-check warm-up {i}", i, settings, address, cancellationToken).ConfigureAwait(false) is { } failed)
            {
                return await FailAsync(error, failed).ConfigureAwait(false);
            }
        }

        var warm = new Timing();
        await using (var second = new RelayClient(Options(settings, address)))
        {
            warm.Observe(second);
            try
            {
                await second.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return await FailAsync(error, CheckFailure.From(ex, address)).ConfigureAwait(false);
            }
        }

        await output.WriteLineAsync($"connected     {Ms(warm.Connected)}  (first, cold connection: {Ms(cold.Connected)})").ConfigureAwait(false);
        await output.WriteLineAsync($"registered    {Ms(warm.Registered)}  (first: {Ms(cold.Registered)}, as {client.Uuid})").ConfigureAwait(false);

        var rounds = new List<TimeSpan>(settings.Count);
        for (var i = 1; i <= settings.Count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            if (await RoundTripAsync(client, $"peerrelay-check {i}", i, settings, address, cancellationToken).ConfigureAwait(false) is { } failed)
            {
                return await FailAsync(error, failed).ConfigureAwait(false);
            }

            rounds.Add(Stopwatch.GetElapsedTime(started));
        }

        rounds.Sort();
        await output.WriteLineAsync(
            $"round trip    p50 {Ms(Percentile(rounds, 0.50))}  p90 {Ms(Percentile(rounds, 0.90))}  p99 {Ms(Percentile(rounds, 0.99))}  max {Ms(rounds[^1])}  ({rounds.Count} messages, after {warmUp} unmeasured)")
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

    private static RelayClientOptions Options(CheckSettings settings, Uri address)
    {
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

        return options;
    }

    /// <summary>Sends <paramref name="probe"/> to the client's own UUID and waits for it to come back.</summary>
    /// <returns>Null when it came back; otherwise why not.</returns>
    private static async Task<CheckFailure?> RoundTripAsync(
        RelayClient client, string probe, int number, CheckSettings settings, Uri address, CancellationToken cancellationToken)
    {
        using var step = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        step.CancelAfter(settings.Timeout);
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

                return back.Error is null
                    ? null
                    : new CheckFailure(CheckExitCode.ForwardingFailed, $"The relay did not deliver a message to this client's own UUID: {back.Error}");
            }
        }
        catch (OperationCanceledException) when (step.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new CheckFailure(CheckExitCode.Timeout,
                $"Timed out: the relay did not return message {number} within {Seconds(settings.Timeout)} s.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return CheckFailure.From(ex, address);
        }
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

    /// <summary>Times a client's connect (until Registering) and registration (Registering to Registered).</summary>
    private sealed class Timing
    {
        private readonly Stopwatch _clock = new();
        private TimeSpan _registering;

        public TimeSpan Connected => _registering;

        public TimeSpan Registered { get; private set; }

        public void Observe(RelayClient client)
        {
            client.StateChanged += (_, e) =>
            {
                switch (e.State)
                {
                    case RelayClientState.Connecting:
                        _clock.Restart();
                        break;
                    case RelayClientState.Registering:
                        _registering = _clock.Elapsed;
                        break;
                    case RelayClientState.Registered:
                        Registered = _clock.Elapsed - _registering;
                        break;
                }
            };
        }
    }

    /// <summary>The check reports the first failure; retrying would hide it.</summary>
    private sealed class NeverRetry : IRelayRetryPolicy
    {
        public static readonly NeverRetry Instance = new();

        public TimeSpan? NextRetryDelay(RelayRetryContext context) => null;
    }
}
