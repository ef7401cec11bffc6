namespace PeerRelay.Client;

/// <summary>
/// The default retry policy: capped exponential back-off with jitter. The n-th retry (n = 0, 1, 2, ...) waits
/// <c>min(MaxDelay, InitialDelay × 2^n × (1 + JitterFraction × r))</c> with r uniform in [0, 1), rounded to whole
/// milliseconds; so by default
/// between 1 s and 60 s: about 1, 2, 4, 8, 16, 32, then 60 s, each up to 20 % longer at random so that clients cut off
/// together do not all come back at the same instant. Retries forever unless <see cref="MaxRetries"/> or
/// <see cref="MaxElapsedTime"/> is set.
/// </summary>
public sealed class ExponentialBackoffRetryPolicy : IRelayRetryPolicy
{
    private readonly Random _random;

    /// <summary>Initializes the policy with the default settings (1 s to 60 s, 20 % jitter, no limit).</summary>
    public ExponentialBackoffRetryPolicy()
        : this(Random.Shared)
    {
    }

    /// <summary>Initializes the policy with a source of randomness for the jitter (for reproducible tests).</summary>
    /// <param name="random">The random source; used only from the client's connection loop.</param>
    public ExponentialBackoffRetryPolicy(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        _random = random;
    }

    /// <summary>Gets or sets the delay before the first retry. Default 1 s. Must be positive.</summary>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the longest delay between two attempts. Default 60 s. At least <see cref="InitialDelay"/>.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gets or sets how much longer than the nominal delay a delay may be, as a fraction: 0.2 (the default) adds up to
    /// 20 %. 0 turns jitter off. Between 0 and 1.
    /// </summary>
    public double JitterFraction { get; set; } = 0.2;

    /// <summary>Gets or sets the number of retries after which the client gives up. Default <see langword="null"/>: never.</summary>
    public int? MaxRetries { get; set; }

    /// <summary>
    /// Gets or sets how long an outage may last before the client gives up. Default <see langword="null"/>: forever.
    /// </summary>
    public TimeSpan? MaxElapsedTime { get; set; }

    /// <inheritdoc />
    public TimeSpan? NextRetryDelay(RelayRetryContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate();
        if (context.PreviousRetryCount >= MaxRetries || context.ElapsedTime >= MaxElapsedTime)
        {
            return null;
        }

        // 2^n overflows quickly; past 2^30 the cap applies anyway.
        var exponent = (int)Math.Min(context.PreviousRetryCount, 30);
        var nominal = InitialDelay.TotalSeconds * (1L << exponent);
        var jittered = nominal * (1 + (JitterFraction * _random.NextDouble()));
        return TimeSpan.FromMilliseconds(Math.Round(Math.Min(MaxDelay.TotalSeconds, jittered) * 1000));
    }

    private void Validate()
    {
        if (InitialDelay <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{nameof(InitialDelay)} must be positive, got {InitialDelay}.");
        }

        if (MaxDelay < InitialDelay)
        {
            throw new InvalidOperationException($"{nameof(MaxDelay)} ({MaxDelay}) must be at least {nameof(InitialDelay)} ({InitialDelay}).");
        }

        if (JitterFraction is < 0 or > 1 || double.IsNaN(JitterFraction))
        {
            throw new InvalidOperationException($"{nameof(JitterFraction)} must be between 0 and 1, got {JitterFraction}.");
        }
    }
}
