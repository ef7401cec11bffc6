namespace PeerRelay.Configuration;

/// <summary>A key the configuration file knows: its name, the other name the reference's docs use, and how to apply it.</summary>
/// <param name="Name">The key's name (the reference's field name).</param>
/// <param name="Alias">The other accepted name, or null.</param>
/// <param name="Apply">Reads the value into the configuration; throws <see cref="ConfigValueException"/> on a bad value.</param>
internal sealed record ConfigKey(string Name, string? Alias, Action<ConfigReadContext, ConfigValue> Apply)
{
    /// <summary>Initializes a new instance of the <see cref="ConfigKey"/> class for a key with one name.</summary>
    /// <param name="name">The key's name.</param>
    /// <param name="apply">Reads the value into the configuration.</param>
    public ConfigKey(string name, Action<ConfigReadContext, ConfigValue> apply)
        : this(name, null, apply)
    {
    }

    /// <summary>Gets whether <paramref name="key"/> is this key's name or alias.</summary>
    /// <param name="key">A key from the file.</param>
    /// <returns>Whether it matches.</returns>
    public bool Matches(string key) => string.Equals(key, Name, StringComparison.Ordinal) || string.Equals(key, Alias, StringComparison.Ordinal);
}
