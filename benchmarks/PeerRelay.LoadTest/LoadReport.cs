using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PeerRelay.LoadTest;

/// <summary>The figures of one run, printed as a table and as one JSON line.</summary>
internal sealed class LoadReport
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Scenario { get; init; } = "";

    public string Target { get; init; } = "";

    public int Procs { get; init; }

    /// <summary>Gets the TLS protocol and cipher suite of the first handshake (<c>wss://</c> only).</summary>
    public string? Tls { get; init; }

    public int? Clients { get; init; }

    public int? Pairs { get; init; }

    public int? Size { get; init; }

    public int? Concurrency { get; init; }

    /// <summary>Gets the unit counted: registration, message or cycle.</summary>
    public string Unit { get; init; } = "";

    public long Units { get; init; }

    public double WindowSeconds { get; init; }

    public double UnitsPerSecond { get; init; }

    public long Errors { get; init; }

    public string? FirstError { get; init; }

    public double? LatencyP50Us { get; init; }

    public double? LatencyP90Us { get; init; }

    public double? LatencyP99Us { get; init; }

    public double? LatencyMaxUs { get; init; }

    public double? ServerCpuMs { get; init; }

    public double? ServerUserMs { get; init; }

    public double? ServerSystemMs { get; init; }

    /// <summary>Gets the server's CPU time (user + system) per unit, in microseconds: the primary figure.</summary>
    public double? ServerCpuPerUnitUs { get; init; }

    public double? ServerSystemPerUnitUs { get; init; }

    /// <summary>Gets the CPU time per unit (µs) of each <c>--also-pid</c> process over the same window.</summary>
    public double[]? AlsoCpuPerUnitUs { get; init; }

    public long? RssBeforeKiB { get; init; }

    public long? RssAfterKiB { get; init; }

    public double? RssPerClientKiB { get; init; }

    public bool? ForwardCheck { get; init; }

    public static LoadReport Create(
        LoadOptions o,
        WorkerResult r,
        double windowSeconds,
        (double User, double System)? cpu,
        (long Before, long After)? rss,
        double[]? alsoCpuMs = null)
    {
        var unit = o.Scenario switch { "connect" => "registration", "forward" => "message", _ => "cycle" };
        var latency = r.Latency;
        static double Us(long ns) => Math.Round(ns / 1000.0, 1);
        var cpuMs = cpu is { } c ? c.User + c.System : (double?)null;
        return new LoadReport
        {
            Scenario = o.Scenario,
            Target = o.Target,
            Procs = o.Procs,
            Tls = r.Tls,
            Clients = o.Scenario == "connect" ? o.Clients : null,
            Pairs = o.Scenario == "forward" ? o.Pairs : null,
            Size = o.Scenario == "forward" ? o.Size : null,
            Concurrency = o.Scenario == "forward" ? null : o.EffectiveConcurrency,
            Unit = unit,
            Units = r.Units,
            WindowSeconds = Math.Round(windowSeconds, 3),
            UnitsPerSecond = windowSeconds > 0 ? Math.Round(r.Units / windowSeconds, 1) : 0,
            Errors = r.Errors,
            FirstError = r.FirstError,
            LatencyP50Us = latency is null ? null : Us(latency.Quantile(0.50)),
            LatencyP90Us = latency is null ? null : Us(latency.Quantile(0.90)),
            LatencyP99Us = latency is null ? null : Us(latency.Quantile(0.99)),
            LatencyMaxUs = latency is null ? null : Us(latency.Max),
            ServerCpuMs = cpuMs,
            ServerUserMs = cpu?.User,
            ServerSystemMs = cpu?.System,
            ServerCpuPerUnitUs = cpuMs is { } ms && r.Units > 0 ? Math.Round(ms * 1000 / r.Units, 2) : null,
            ServerSystemPerUnitUs = cpu is { } s && r.Units > 0 ? Math.Round(s.System * 1000 / r.Units, 2) : null,
            AlsoCpuPerUnitUs = alsoCpuMs is not null && r.Units > 0 ? alsoCpuMs.Select(ms => Math.Round(ms * 1000 / r.Units, 2)).ToArray() : null,
            RssBeforeKiB = rss?.Before,
            RssAfterKiB = rss?.After,
            RssPerClientKiB = rss is { } m && r.Units > 0 ? Math.Round((m.After - m.Before) / (double)r.Units, 2) : null,
            ForwardCheck = r.ForwardCheck,
        };
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public string ToTable()
    {
        var sb = new StringBuilder();
        void Row(string name, object? value)
        {
            if (value is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  {name,-28} {Convert.ToString(value, CultureInfo.InvariantCulture)}\n");
            }
        }

        sb.Append(CultureInfo.InvariantCulture, $"{Scenario} against {Target} ({Procs} load process{(Procs == 1 ? "" : "es")})\n");
        Row("TLS", Tls);
        Row("clients", Clients);
        Row("pairs", Pairs);
        Row("message bytes", Size);
        Row("concurrency", Concurrency);
        Row($"{Unit}s", Units);
        Row("window (s)", WindowSeconds);
        Row($"{Unit}s/s", UnitsPerSecond);
        Row("errors", Errors);
        Row("first error", FirstError);
        Row("one-hop latency p50 (us)", LatencyP50Us);
        Row("one-hop latency p90 (us)", LatencyP90Us);
        Row("one-hop latency p99 (us)", LatencyP99Us);
        Row("one-hop latency max (us)", LatencyMaxUs);
        Row("server CPU (ms)", ServerCpuMs);
        Row("  of which system (ms)", ServerSystemMs);
        Row($"server CPU per {Unit} (us)", ServerCpuPerUnitUs);
        Row($"  of which system (us)", ServerSystemPerUnitUs);
        Row($"other processes' CPU per {Unit} (us)", AlsoCpuPerUnitUs is null ? null : string.Join(", ", AlsoCpuPerUnitUs));
        Row("server RSS before (KiB)", RssBeforeKiB);
        Row("server RSS after (KiB)", RssAfterKiB);
        Row("server RSS per client (KiB)", RssPerClientKiB);
        Row("forwarding still works", ForwardCheck);
        return sb.ToString();
    }
}
