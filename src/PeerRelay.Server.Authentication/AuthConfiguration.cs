using System.Collections;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Server.Hosting;

namespace PeerRelay.Server.Authentication;

/// <summary>
/// Applies the <c>[auth]</c> section of the configuration file to the relay: <c>method</c> (absent or <c>"none"</c>:
/// no authentication; <c>"globus"</c>; <c>"jwt"</c>) and <c>[auth.kwargs]</c> (the method's settings). Values are
/// what a TOML reader produces: strings, integers (<see cref="long"/>), floats, booleans and lists; durations are
/// numbers of seconds. Every mistake is reported with the key and what to write instead; a secret is never echoed.
/// </summary>
public static class AuthConfiguration
{
    private static readonly Setting<GlobusAuthOptions>[] GlobusSettings =
    [
        new("client_id", (n, v, p) => Set(String(n, v, p), (GlobusAuthOptions o, string x) => o.ClientId = x)),
        new("client_secret", (n, v, p) => Set(String(n, v, p), (GlobusAuthOptions o, string x) => o.ClientSecret = x)),
        new("audience", (n, v, p) => Set(String(n, v, p), (GlobusAuthOptions o, string x) => o.Audience = x)),
        new("introspection_url", (n, v, p) => Set(Url(n, v, p), (GlobusAuthOptions o, Uri x) => o.IntrospectionUrl = x)),
        new("cache_duration", (n, v, p) => SetValue(Seconds(n, v, p), (GlobusAuthOptions o, TimeSpan x) => o.CacheDuration = x)),
        new("cache_size", (n, v, p) => SetValue(Integer(n, v, p), (GlobusAuthOptions o, int x) => o.CacheSize = x)),
        new("timeout", (n, v, p) => SetValue(Seconds(n, v, p), (GlobusAuthOptions o, TimeSpan x) => o.Timeout = x)),
    ];

    private static readonly Setting<JwtAuthOptions>[] JwtSettings =
    [
        new("issuer", (n, v, p) => Set(String(n, v, p), (JwtAuthOptions o, string x) => o.Issuer = x)),
        new("audience", (n, v, p) => Set(Strings(n, v, p), (JwtAuthOptions o, List<string> x) => Fill(o.Audiences, x))),
        new("jwks_url", (n, v, p) => Set(Url(n, v, p), (JwtAuthOptions o, Uri x) => o.JwksUrl = x)),
        new("authority", (n, v, p) => Set(Url(n, v, p), (JwtAuthOptions o, Uri x) => o.Authority = x)),
        new("user_claim", (n, v, p) => Set(String(n, v, p), (JwtAuthOptions o, string x) => o.UserClaim = x)),
        new("algorithms", (n, v, p) => Set(Strings(n, v, p), (JwtAuthOptions o, List<string> x) => Fill(o.Algorithms, x))),
        new("clock_skew", (n, v, p) => SetValue(Seconds(n, v, p), (JwtAuthOptions o, TimeSpan x) => o.ClockSkew = x)),
        new("jwks_refresh_interval", (n, v, p) => SetValue(Seconds(n, v, p), (JwtAuthOptions o, TimeSpan x) => o.KeyRefreshInterval = x)),
        new("timeout", (n, v, p) => SetValue(Seconds(n, v, p), (JwtAuthOptions o, TimeSpan x) => o.Timeout = x)),
    ];

    /// <summary>Gets the <c>[auth.kwargs]</c> keys of <c>method = "globus"</c>.</summary>
    public static IReadOnlyList<string> GlobusKeys { get; } = [.. GlobusSettings.Select(s => s.Key)];

    /// <summary>Gets the <c>[auth.kwargs]</c> keys of <c>method = "jwt"</c>.</summary>
    public static IReadOnlyList<string> JwtKeys { get; } = [.. JwtSettings.Select(s => s.Key)];

    /// <summary>Applies <c>method</c> and <c>[auth.kwargs]</c>, validating them at once.</summary>
    /// <param name="builder">The relay builder.</param>
    /// <param name="method">null, empty or <c>"none"</c> for no authentication; <c>"globus"</c> or <c>"jwt"</c>.</param>
    /// <param name="kwargs">The method's settings, or null.</param>
    /// <param name="environment">
    /// Looks up an environment variable (pass <see cref="Environment.GetEnvironmentVariable(string)"/>); used for the
    /// Globus client id and secret when the file leaves them out. The library never reads the environment itself.
    /// </param>
    /// <returns>The builder.</returns>
    /// <exception cref="AuthConfigurationException">The method or a setting is invalid.</exception>
    public static IPeerRelayBuilder Apply(
        IPeerRelayBuilder builder,
        string? method,
        IReadOnlyDictionary<string, object?>? kwargs,
        Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(environment);
        return Resolve(method, kwargs, environment)(builder);
    }

    /// <summary>
    /// Checks <c>method</c> and <c>[auth.kwargs]</c> exactly as <see cref="Apply"/> does, without a builder, so a
    /// configuration reader can report these problems together with its own.
    /// </summary>
    /// <param name="method">null, empty or <c>"none"</c> for no authentication; <c>"globus"</c> or <c>"jwt"</c>.</param>
    /// <param name="kwargs">The method's settings, or null.</param>
    /// <param name="environment">Looks up an environment variable, as for <see cref="Apply"/>.</param>
    /// <returns>The problems, one line each (<c>auth.kwargs.KEY: ...</c>); empty when the settings are valid.</returns>
    public static IReadOnlyList<string> Validate(
        string? method,
        IReadOnlyDictionary<string, object?>? kwargs,
        Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        try
        {
            Resolve(method, kwargs, environment);
            return [];
        }
        catch (AuthConfigurationException ex)
        {
            return ex.Problems;
        }
    }

    /// <summary>Validates the settings and returns what adds the authenticator to a builder.</summary>
    private static Func<IPeerRelayBuilder, IPeerRelayBuilder> Resolve(
        string? method,
        IReadOnlyDictionary<string, object?>? kwargs,
        Func<string, string?> environment)
    {
        var settings = kwargs?.ToList() ?? [];
        switch (method?.ToLowerInvariant())
        {
            case null or "" or "none":
                if (settings.Count > 0)
                {
                    Throw(["auth.kwargs: given, but auth.method is not set; set method = \"globus\" or \"jwt\", or remove [auth.kwargs]"]);
                }

                return static builder => builder;
            case "globus":
                {
                    var read = Read("globus", settings, GlobusSettings);
                    Action<GlobusAuthOptions> configure = o =>
                    {
                        read(o);
                        o.ApplyEnvironment(environment);
                    };
                    var probe = new GlobusAuthOptions();
                    configure(probe);
                    Throw(probe.Validate());
                    return builder => builder.AddGlobusAuthentication(configure);
                }

            case "jwt":
                {
                    var configure = Read("jwt", settings, JwtSettings);
                    var probe = new JwtAuthOptions();
                    configure(probe);
                    Throw(probe.Validate());
                    return builder => builder.AddJwtAuthentication(configure);
                }

            default:
                Throw([$"auth.method: \"{method}\" is unknown; use \"globus\" or \"jwt\", or \"none\" (or no method) for no authentication"]);
                return static builder => builder;
        }
    }

    /// <summary>Turns <paramref name="kwargs"/> into steps that set the options; throws with every problem found.</summary>
    private static Action<T> Read<T>(string method, List<KeyValuePair<string, object?>> kwargs, Setting<T>[] settings)
    {
        var problems = new List<string>();
        var steps = new List<Action<T>>();
        foreach (var (key, value) in kwargs)
        {
            var setting = Array.Find(settings, s => s.Key == key);
            if (setting is null)
            {
                problems.Add($"auth.kwargs.{key}: not a setting of method \"{method}\"; its settings are {string.Join(", ", settings.Select(s => s.Key))}");
            }
            else if (setting.Read("auth.kwargs." + key, value, problems) is { } step)
            {
                steps.Add(step);
            }
        }

        Throw(problems);
        return o =>
        {
            foreach (var step in steps)
            {
                step(o);
            }
        };
    }

    private static Action<T>? Set<T, TValue>(TValue? value, Action<T, TValue> set)
        where TValue : class =>
        value is null ? null : o => set(o, value);

    private static Action<T>? SetValue<T, TValue>(TValue? value, Action<T, TValue> set)
        where TValue : struct =>
        value is { } v ? o => set(o, v) : null;

    private static void Fill(IList<string> target, List<string> values)
    {
        target.Clear();
        foreach (var value in values)
        {
            target.Add(value);
        }
    }

    private static string? String(string name, object? value, List<string> problems)
    {
        if (value is string text)
        {
            return text;
        }

        // Never echo a secret, even a mistyped one.
        problems.Add($"{name}: expected a string, got {(name.EndsWith("secret", StringComparison.Ordinal) ? "another type" : Describe(value))}");
        return null;
    }

    private static List<string> Strings(string name, object? value, List<string> problems)
    {
        if (value is string single)
        {
            return [single];
        }

        var list = new List<string>();
        if (value is IEnumerable items)
        {
            foreach (var item in items)
            {
                if (item is string text)
                {
                    list.Add(text);
                }
                else
                {
                    problems.Add($"{name}: expected a list of strings, found {Describe(item)} in it");
                }
            }

            return list;
        }

        problems.Add($"{name}: expected a string or a list of strings, got {Describe(value)}");
        return list;
    }

    private static Uri? Url(string name, object? value, List<string> problems)
    {
        if (String(name, value, problems) is not { } text)
        {
            return null;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp))
        {
            return url;
        }

        problems.Add($"{name}: '{text}' is not an absolute http(s) URL");
        return null;
    }

    private static TimeSpan? Seconds(string name, object? value, List<string> problems)
    {
        double? seconds = value switch
        {
            long l => l,
            int i => i,
            double d when double.IsFinite(d) => d,
            _ => null,
        };
        if (seconds is { } s && s >= 0 && s <= TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return TimeSpan.FromSeconds(s);
        }

        problems.Add($"{name}: expected a number of seconds (zero or more), got {Describe(value)}");
        return null;
    }

    private static int? Integer(string name, object? value, List<string> problems)
    {
        switch (value)
        {
            case int i:
                return i;
            case long l when l is >= int.MinValue and <= int.MaxValue:
                return (int)l;
            default:
                problems.Add($"{name}: expected a whole number, got {Describe(value)}");
                return null;
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "nothing",
        string s => $"the string \"{s}\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable => "a list or table",
        _ => value.GetType().Name,
    };

    private static void Throw(IReadOnlyList<string> problems)
    {
        if (problems.Count > 0)
        {
            throw new AuthConfigurationException(problems);
        }
    }

    /// <summary>Reads one value; returns the step that applies it, or null (with a problem added) when it is bad.</summary>
    private delegate Action<T>? Reader<T>(string name, object? value, List<string> problems);

    /// <summary>One <c>[auth.kwargs]</c> key of a method and how to read it.</summary>
    private sealed record Setting<T>(string Key, Reader<T> Read);
}
