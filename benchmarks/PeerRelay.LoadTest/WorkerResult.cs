namespace PeerRelay.LoadTest;

/// <summary>What one load process measured; serialized from child processes to the coordinator.</summary>
internal sealed class WorkerResult
{
    private long _units;

    /// <summary>Gets or sets the units of work done in the measured window (registrations, messages or cycles).</summary>
    public long Units { get => Volatile.Read(ref _units); set => _units = value; }

    public double WindowSeconds { get; set; }

    public long Errors { get; set; }

    public string? FirstError { get; set; }

    /// <summary>Gets or sets the connect scenario's check that the relay still forwards between the first and last client.</summary>
    public bool? ForwardCheck { get; set; }

    public LatencyHistogram? Latency { get; set; }

    /// <summary>Gets or sets the TLS protocol and cipher suite negotiated (<c>wss://</c>), e.g. <c>Tls13 TLS_AES_256_GCM_SHA384</c>.</summary>
    public string? Tls { get; set; }

    public void AddUnits(long count) => Interlocked.Add(ref _units, count);

    public void Error(Exception ex) => Error(ex.GetType().Name + ": " + ex.Message);

    public void Error(string message)
    {
        lock (this)
        {
            Errors++;
            FirstError ??= message;
        }
    }

    public static WorkerResult Combine(IReadOnlyList<WorkerResult> results)
    {
        var total = new WorkerResult();
        foreach (var r in results)
        {
            total.Units += r.Units;
            total.WindowSeconds = Math.Max(total.WindowSeconds, r.WindowSeconds);
            total.Errors += r.Errors;
            total.FirstError ??= r.FirstError;
            total.Tls ??= r.Tls;
            if (r.ForwardCheck is { } check)
            {
                total.ForwardCheck = (total.ForwardCheck ?? true) && check;
            }

            if (r.Latency is { } latency)
            {
                total.Latency ??= new LatencyHistogram();
                total.Latency.Merge(latency);
            }
        }

        return total;
    }
}
