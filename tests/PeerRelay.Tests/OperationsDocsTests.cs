using System.Text.Json;
using System.Text.RegularExpressions;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary>
/// docs/operations.md lists every instrument by its Prometheus name, and the Grafana dashboard and the alert rules use
/// only names that exist: a renamed or new instrument cannot leave the operator's side behind.
/// </summary>
public sealed partial class OperationsDocsTests
{
    private static readonly string Operations = File.ReadAllText(RepositoryPaths.Combine("docs/operations.md"));

    [Fact]
    public void EveryInstrumentInTheSource_IsDocumentedByItsPrometheusName()
    {
        var instruments = Directory.EnumerateFiles(RepositoryPaths.Combine("src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => InstrumentCreation().Matches(File.ReadAllText(f)))
            .Select(m => PrometheusName(m.Groups["name"].Value, m.Groups["unit"].Value, m.Groups["kind"].Value.EndsWith("Counter", StringComparison.Ordinal) && !m.Groups["kind"].Value.Contains("UpDown", StringComparison.Ordinal)))
            .Distinct()
            .ToList();

        Assert.Contains("peerrelay_forward_duration_seconds", instruments);
        Assert.Contains("peerrelay_messages_forwarded_total", instruments);
        Assert.All(instruments, name => Assert.Contains($"`{name}`", Operations, StringComparison.Ordinal));
    }

    [Fact]
    public void GrafanaDashboard_AndAlertRules_UseOnlyDocumentedMetrics()
    {
        var dashboardText = File.ReadAllText(RepositoryPaths.Combine("deploy/grafana/peerrelay-dashboard.json"));
        using var dashboard = JsonDocument.Parse(dashboardText);
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        Assert.All(panels.Where(p => p.GetProperty("type").GetString() != "row"), p => Assert.NotEmpty(p.GetProperty("targets").EnumerateArray()));

        var alerts = Regex.Match(Operations, "```yaml\\n(groups:.*?)```", RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains("PeerRelayForwardLatencyHigh", alerts, StringComparison.Ordinal);
        var used = MetricName().Matches(dashboardText + alerts)
            .Select(m => Regex.Replace(m.Value, "_(bucket|sum|count)$", string.Empty))
            .Distinct()
            .ToList();

        Assert.True(used.Count > 20, $"only {used.Count} metric names used");
        Assert.All(used, name => Assert.Contains($"| `{name}`", Operations, StringComparison.Ordinal));
    }

    /// <summary>The naming rule of docs/operations.md, "Naming" (as PrometheusNames applies it).</summary>
    private static string PrometheusName(string instrument, string unit, bool counter)
    {
        var name = instrument.Replace('.', '_');
        var suffix = unit switch { "s" => "_seconds", "By" => "_bytes", _ => string.Empty };
        if (!name.EndsWith(suffix, StringComparison.Ordinal))
        {
            name += suffix;
        }

        return counter ? name + "_total" : name;
    }

    [GeneratedRegex("Create(?<kind>Counter|UpDownCounter|Histogram|Gauge|ObservableGauge|ObservableCounter|ObservableUpDownCounter)(?:<\\w+>)?\\(\\s*\"(?<name>peerrelay\\.[a-z_.]+)\"\\s*,\\s*(?:[^,\"]+,\\s*)?\"(?<unit>[^\"]*)\"")]
    private static partial Regex InstrumentCreation();

    [GeneratedRegex("\\b(?:peerrelay|process|dotnet)_[a-z_]+[a-z]")]
    private static partial Regex MetricName();
}
