namespace PeerRelay.Configuration;

/// <summary>The <c>[auth]</c> table: the method and its <c>[auth.kwargs]</c>, as the reference relay reads them.</summary>
internal sealed class RelayAuthConfig
{
    /// <summary>Gets or sets the method (<c>method</c>); null or <c>"none"</c> means no authentication.</summary>
    public string? Method { get; set; }

    /// <summary>
    /// Gets the method's arguments (<c>[auth.kwargs]</c>), converted to plain .NET values: <see cref="string"/>,
    /// <see cref="long"/>, <see cref="double"/>, <see cref="bool"/>, <see cref="DateTimeOffset"/>, lists and
    /// nested dictionaries. Often holds secrets: never log the values.
    /// </summary>
    public Dictionary<string, object?> Kwargs { get; } = new(StringComparer.Ordinal);
}
