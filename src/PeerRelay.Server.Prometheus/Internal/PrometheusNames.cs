using System.Diagnostics.Metrics;
using System.Text;

namespace PeerRelay.Server.Prometheus.Internal;

/// <summary>
/// The one naming scheme from instruments to Prometheus (docs/operations.md, "Naming"): dots and dashes become
/// underscores, the unit becomes a suffix (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>; annotations such as
/// <c>{message}</c> add nothing), and counters end in <c>_total</c>. Tag names only have their dots replaced.
/// </summary>
internal static class PrometheusNames
{
    /// <summary>Gets the Prometheus name of <paramref name="instrument"/>.</summary>
    public static string Of(Instrument instrument)
    {
        var name = Sanitize(instrument.Name);
        var suffix = UnitSuffix(instrument.Unit);
        if (suffix.Length > 0 && !name.EndsWith(suffix, StringComparison.Ordinal))
        {
            name += suffix;
        }

        if (IsCounter(instrument) && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }

        return name;
    }

    /// <summary>Gets the Prometheus label name of a tag.</summary>
    public static string OfTag(string tag) => Sanitize(tag);

    /// <summary>Gets whether the instrument only goes up (a Prometheus counter).</summary>
    public static bool IsCounter(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return false;
        }

        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>);
    }

    private static string UnitSuffix(string? unit) => unit switch
    {
        "s" => "_seconds",
        "ms" => "_milliseconds",
        "By" => "_bytes",
        "%" => "_percent",
        _ => string.Empty, // "{message}", "1" and the like are annotations: no suffix.
    };

    private static string Sanitize(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? char.ToLowerInvariant(c) : '_');
        }

        return builder.ToString();
    }
}
