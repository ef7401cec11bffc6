using System.Collections;
using Tomlyn;
using Tomlyn.Model;

namespace PeerRelay.Configuration;

/// <summary>
/// Configuration from environment variables, as container users expect: <c>PEERRELAY_</c> and the key's path in upper
/// case, tables joined by a double underscore (<c>PEERRELAY_PORT</c>, <c>PEERRELAY_LOGGING__DEFAULT_LEVEL</c>,
/// <c>PEERRELAY_CLUSTER__REDIS</c>). A value is read as a TOML value when it is one (<c>8700</c>, <c>true</c>,
/// <c>["a", "b"]</c>) and as a string otherwise. Applied after the file and before the command line.
/// </summary>
internal static class EnvironmentConfig
{
    /// <summary>The prefix of every variable.</summary>
    public const string Prefix = "PEERRELAY_";

    /// <summary>How the source is named in messages.</summary>
    public const string SourceName = "environment";

    // PEERRELAY_* variables that are not settings: the check command's token, and the test suite's own.
    private static readonly string[] NotSettings = ["TOKEN", "DLL", "EXE", "TEST_", "FUZZ_", "SOAK_"];

    /// <summary>Reads the process's environment.</summary>
    /// <returns>The <c>PEERRELAY_*</c> variables.</returns>
    public static IReadOnlyDictionary<string, string> FromProcess()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string name && name.StartsWith(Prefix, StringComparison.Ordinal) && entry.Value is string value)
            {
                variables[name] = value;
            }
        }

        return variables;
    }

    /// <summary>Builds the table the variables stand for, as if a file held them.</summary>
    /// <param name="variables">Environment variables (others than <c>PEERRELAY_*</c> are ignored).</param>
    /// <returns>The table, or null when no variable is a setting.</returns>
    public static TomlTable? ToTable(IReadOnlyDictionary<string, string> variables)
    {
        TomlTable? root = null;
        foreach (var (name, raw) in variables.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var path = name[Prefix.Length..];
            if (path.Length == 0 || NotSettings.Any(n => n.EndsWith('_') ? path.StartsWith(n, StringComparison.Ordinal) : path == n))
            {
                continue;
            }

            root ??= new TomlTable();
            var table = root;
            var segments = path.ToLowerInvariant().Split("__");
            for (var i = 0; i < segments.Length - 1; i++)
            {
                if (table.TryGetValue(segments[i], out var existing) && existing is TomlTable inner)
                {
                    table = inner;
                }
                else
                {
                    var created = new TomlTable();
                    table[segments[i]] = created;
                    table = created;
                }
            }

            table[segments[^1]] = ParseValue(raw);
        }

        return root;
    }

    /// <summary>Reads a TOML value (number, boolean, array, quoted string), or else takes the text as it is.</summary>
    private static object ParseValue(string raw)
    {
        try
        {
            if (TomlSerializer.Deserialize($"v = {raw}\n", RelayTomlContext.Default.TomlTable) is { } parsed && parsed.TryGetValue("v", out var value) && value is not null)
            {
                return value;
            }
        }
        catch (TomlException)
        {
        }

        return raw;
    }
}
