using Tomlyn.Model;

namespace PeerRelay.Configuration;

/// <summary>The state of reading one configuration file: the result, the problems and warnings found so far.</summary>
/// <param name="config">The configuration being filled.</param>
/// <param name="sourceName">The file, as the user named it, for messages.</param>
internal sealed class ConfigReadContext(RelayConfig config, string sourceName)
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <summary>Gets the configuration being filled.</summary>
    public RelayConfig Config { get; } = config;

    /// <summary>Gets the problems found, one line each, prefixed with the file name.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>
    /// Reads every entry of <paramref name="table"/> with <paramref name="keys"/>. A key that is not known is a warning
    /// (it is ignored, never silently); a bad value is a problem; a key given under both its names is a problem.
    /// </summary>
    /// <param name="table">The table.</param>
    /// <param name="prefix">The table's path with a trailing dot (e.g. <c>logging.</c>), empty at the top level.</param>
    /// <param name="keys">The keys the table knows.</param>
    public void ReadTable(TomlTable table, string prefix, IReadOnlyList<ConfigKey> keys)
    {
        foreach (var (key, value) in table)
        {
            var path = prefix + key;
            ConfigKey? known = null;
            foreach (var candidate in keys)
            {
                if (candidate.Matches(key))
                {
                    known = candidate;
                    break;
                }
            }

            if (known is null)
            {
                Config.Warnings.Add($"{sourceName}: unknown key \"{path}\" is ignored");
                continue;
            }

            if (!_seen.Add(prefix + known.Name))
            {
                Problems.Add($"{sourceName}: {prefix}{known.Name} and {prefix}{known.Alias} are the same setting; keep one of them");
                continue;
            }

            try
            {
                known.Apply(this, new ConfigValue(path, value));
            }
            catch (ConfigValueException ex)
            {
                Problems.Add($"{sourceName}: {ex.Message}");
            }
        }
    }
}
