namespace PeerRelay.Testing;

/// <summary>Reads the Prometheus text of a relay's <c>/metrics</c>.</summary>
public static class PrometheusText
{
    private static readonly HttpClient Http = new();

    /// <summary>Gets <c>/metrics</c> of the relay listening at <paramref name="relay"/> (its ws:// or wss:// address).</summary>
    /// <param name="relay">The relay's WebSocket address.</param>
    /// <returns>The Prometheus text.</returns>
    public static async Task<string> ScrapeAsync(Uri relay)
    {
        ArgumentNullException.ThrowIfNull(relay);
        var http = new UriBuilder(relay) { Scheme = relay.Scheme == "wss" ? "https" : "http", Path = "/metrics" }.Uri;
        return await Http.GetStringAsync(http).WithTimeout();
    }

    /// <summary>The value of one series (name with its labels, as written), or NaN when it is not there.</summary>
    /// <param name="text">The Prometheus text.</param>
    /// <param name="series">The series, e.g. <c>peerrelay_registrations_total{result="ok"}</c>.</param>
    /// <returns>Its value.</returns>
    public static double Value(string text, string series)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return double.NaN;
    }
}
