using System.Globalization;
using Microsoft.Extensions.Logging;
using Tomlyn.Model;

namespace PeerRelay.Configuration;

/// <summary>
/// One value read from the TOML file or the command line, with the key it came under. The <c>AsXxx</c> methods
/// check its type and range and throw <see cref="ConfigValueException"/> with a one-line message otherwise.
/// </summary>
/// <param name="Key">The key as the user wrote it, e.g. <c>logging.default_log_level</c> or <c>--port</c>.</param>
/// <param name="Value">The value as Tomlyn read it (string, long, double, bool, table, array) or the option's value.</param>
internal readonly record struct ConfigValue(string Key, object? Value)
{
    /// <summary>The largest duration in seconds: 30 days, within what .NET timers accept.</summary>
    public const double MaxSeconds = 30 * 24 * 3600;

    /// <summary>Reads a non-empty string.</summary>
    /// <returns>The string.</returns>
    public string AsNonEmptyString() =>
        Value is string { Length: > 0 } text && !string.IsNullOrWhiteSpace(text) ? text : throw NotAllowed("a non-empty string");

    /// <summary>Reads <c>true</c> or <c>false</c>.</summary>
    /// <returns>The flag.</returns>
    public bool AsBoolean() => Value is bool flag ? flag : throw NotAllowed("true or false");

    /// <summary>Reads one of <paramref name="allowed"/> (exact, lower case).</summary>
    /// <param name="allowed">The allowed words.</param>
    /// <returns>The word.</returns>
    public string AsOneOf(params string[] allowed) =>
        Value is string word && allowed.Contains(word, StringComparer.Ordinal)
            ? word
            : throw NotAllowed(string.Join(" or ", allowed.Select(a => $"\"{a}\"")));

    /// <summary>Reads a whole number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <param name="min">The smallest allowed value.</param>
    /// <param name="max">The largest allowed value.</param>
    /// <param name="unit">The unit, for the message (e.g. "bytes"); may be empty.</param>
    /// <returns>The number.</returns>
    public int AsInt32(int min, int max, string unit = "")
    {
        if (Value is long number && number >= min && number <= max)
        {
            return (int)number;
        }

        var range = max == int.MaxValue ? $"{min} or more" : $"from {min} to {max}";
        throw NotAllowed(unit.Length == 0 ? $"a whole number {range}" : $"a whole number of {unit} {range}");
    }

    /// <summary>Reads a duration in seconds (a whole or decimal number) of at most <see cref="MaxSeconds"/>.</summary>
    /// <param name="allowZero">Whether zero is allowed (it usually means "off").</param>
    /// <returns>The duration.</returns>
    public TimeSpan AsSeconds(bool allowZero)
    {
        double? seconds = Value switch
        {
            long whole => whole,
            double fraction when double.IsFinite(fraction) => fraction,
            _ => null,
        };
        if (seconds is { } s && s <= MaxSeconds && (s > 0 || (allowZero && s == 0)))
        {
            return TimeSpan.FromSeconds(s);
        }

        throw NotAllowed(allowZero
            ? $"a number of seconds from 0 (off) to {MaxSeconds}"
            : $"a number of seconds above 0, at most {MaxSeconds}");
    }

    /// <summary>Reads a log level: a reference level name in any case, or a Python level number.</summary>
    /// <returns>The level.</returns>
    public LogLevel AsLogLevel()
    {
        var ok = Value switch
        {
            string name => LogLevelNames.TryParse(name, out var level) ? level : (LogLevel?)null,
            long number => LogLevelNames.TryParse(number, out var level) ? level : null,
            _ => null,
        };
        return ok ?? throw NotAllowed(LogLevelNames.Allowed);
    }

    /// <summary>Reads a string or an array of strings.</summary>
    /// <returns>The strings.</returns>
    public IReadOnlyList<string> AsStringList()
    {
        if (Value is string single)
        {
            return [single];
        }

        if (Value is TomlArray array && array.All(item => item is string))
        {
            return [.. array.Cast<string>()];
        }

        throw NotAllowed("a string or an array of strings");
    }

    /// <summary>Reads a table.</summary>
    /// <returns>The table.</returns>
    public TomlTable AsTable() => Value as TomlTable ?? throw NotAllowed($"a table ([{Key}])");

    /// <summary>Builds the error for a value that is not allowed.</summary>
    /// <param name="allowed">What is allowed, e.g. "a whole number from 0 to 65535".</param>
    /// <returns>The exception to throw.</returns>
    public ConfigValueException NotAllowed(string allowed) => new($"{Key}: {Describe(Value)} is not allowed; use {allowed}");

    /// <summary>Writes a value as the user would recognise it from the file.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The text.</returns>
    public static string Describe(object? value) => value switch
    {
        null => "nothing",
        string text => $"\"{text}\"",
        bool flag => flag ? "true" : "false",
        long number => number.ToString(CultureInfo.InvariantCulture),
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        TomlTable => "a table",
        TomlArray or TomlTableArray => "an array",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? value.GetType().Name,
    };
}
