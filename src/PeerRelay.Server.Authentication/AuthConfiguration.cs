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
    /// <summary>The <c>[auth.kwargs]</c> keys of <c>method = "globus"</c>.</summary>
    public static readonly IReadOnlyList<string> GlobusKeys =
        ["client_id", "client_secret", "audience", "introspection_url", "cache_duration", "cache_size", "timeout"];

    /// <summary>The <c>[auth.kwargs]</c> keys of <c>method = "jwt"</c>.</summary>
    public static readonly IReadOnlyList<string> JwtKeys =
        ["issuer", "audience", "jwks_url", "authority", "user_claim", "algorithms", "clock_skew", "jwks_refresh_interval", "timeout"];

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
        var settings = kwargs?.ToList() ?? [];
        switch (method?.ToLowerInvariant())
        {
            case null or "" or "none":
                if (settings.Count > 0)
                {
                    Throw(["auth.kwargs: given, but auth.method is not set; set method = \"globus\" or \"jwt\", or remove [auth.kwargs]"]);
                }

                return builder;
            case "globus":
                {
                    var configure = ReadGlobus(settings, environment);
                    var probe = new GlobusAuthOptions();
                    configure(probe);
                    Throw(probe.Validate());
                    return builder.AddGlobusAuthentication(configure);
                }

            case "jwt":
                {
                    var configure = ReadJwt(settings);
                    var probe = new JwtAuthOptions();
                    configure(probe);
                    Throw(probe.Validate());
                    return builder.AddJwtAuthentication(configure);
                }

            default:
                Throw([$"auth.method: \"{method}\" is unknown; use \"globus\" or \"jwt\", or \"none\" (or no method) for no authentication"]);
                return builder;
        }
    }

    private static Action<GlobusAuthOptions> ReadGlobus(List<KeyValuePair<string, object?>> kwargs, Func<string, string?> environment)
    {
        var problems = new List<string>();
        var steps = new List<Action<GlobusAuthOptions>>();
        foreach (var (key, value) in kwargs)
        {
            var name = "auth.kwargs." + key;
            switch (key)
            {
                case "client_id" when String(name, value, problems) is { } id:
                    steps.Add(o => o.ClientId = id);
                    break;
                case "client_secret" when String(name, value, problems) is { } secret:
                    steps.Add(o => o.ClientSecret = secret);
                    break;
                case "audience" when String(name, value, problems) is { } audience:
                    steps.Add(o => o.Audience = audience);
                    break;
                case "introspection_url" when Url(name, value, problems) is { } url:
                    steps.Add(o => o.IntrospectionUrl = url);
                    break;
                case "cache_duration" when Seconds(name, value, problems) is { } duration:
                    steps.Add(o => o.CacheDuration = duration);
                    break;
                case "cache_size" when Integer(name, value, problems) is { } size:
                    steps.Add(o => o.CacheSize = size);
                    break;
                case "timeout" when Seconds(name, value, problems) is { } timeout:
                    steps.Add(o => o.Timeout = timeout);
                    break;
                case "client_id" or "client_secret" or "audience" or "introspection_url" or "cache_duration" or "cache_size" or "timeout":
                    break;
                default:
                    problems.Add(UnknownKey(key, "globus", GlobusKeys));
                    break;
            }
        }

        Throw(problems);
        return o =>
        {
            foreach (var step in steps)
            {
                step(o);
            }

            o.ApplyEnvironment(environment);
        };
    }

    private static Action<JwtAuthOptions> ReadJwt(List<KeyValuePair<string, object?>> kwargs)
    {
        var problems = new List<string>();
        var steps = new List<Action<JwtAuthOptions>>();
        foreach (var (key, value) in kwargs)
        {
            var name = "auth.kwargs." + key;
            switch (key)
            {
                case "issuer" when String(name, value, problems) is { } issuer:
                    steps.Add(o => o.Issuer = issuer);
                    break;
                case "audience":
                    var audiences = Strings(name, value, problems);
                    steps.Add(o => Fill(o.Audiences, audiences));
                    break;
                case "jwks_url" when Url(name, value, problems) is { } url:
                    steps.Add(o => o.JwksUrl = url);
                    break;
                case "authority" when Url(name, value, problems) is { } authority:
                    steps.Add(o => o.Authority = authority);
                    break;
                case "user_claim" when String(name, value, problems) is { } claim:
                    steps.Add(o => o.UserClaim = claim);
                    break;
                case "algorithms":
                    var algorithms = Strings(name, value, problems);
                    steps.Add(o => Fill(o.Algorithms, algorithms));
                    break;
                case "clock_skew" when Seconds(name, value, problems) is { } skew:
                    steps.Add(o => o.ClockSkew = skew);
                    break;
                case "jwks_refresh_interval" when Seconds(name, value, problems) is { } refresh:
                    steps.Add(o => o.KeyRefreshInterval = refresh);
                    break;
                case "timeout" when Seconds(name, value, problems) is { } timeout:
                    steps.Add(o => o.Timeout = timeout);
                    break;
                case "issuer" or "jwks_url" or "authority" or "user_claim" or "clock_skew" or "jwks_refresh_interval" or "timeout":
                    break;
                default:
                    problems.Add(UnknownKey(key, "jwt", JwtKeys));
                    break;
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

    private static void Fill(IList<string> target, List<string> values)
    {
        target.Clear();
        foreach (var value in values)
        {
            target.Add(value);
        }
    }

    private static string UnknownKey(string key, string method, IReadOnlyList<string> known) =>
        $"auth.kwargs.{key}: not a setting of method \"{method}\"; its settings are {string.Join(", ", known)}";

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
}
