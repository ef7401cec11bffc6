using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication.Internal;

namespace PeerRelay.Server.Authentication;

/// <summary>
/// Globus Auth (<c>[auth] method = "globus"</c>): asks the introspection endpoint (RFC 7662) about each client's
/// bearer token with the relay's client credentials. An inactive token, or one without <see cref="GlobusAuthOptions.Audience"/>
/// in its <c>aud</c>, closes the client with 4002; a missing or malformed token with 4001; an introspection service
/// that is down, slow or failing with 1013. The user is the token's <c>sub</c>. Results are cached by token hash.
/// </summary>
/// <remarks>
/// Requests run asynchronously, so a slow introspection holds back only the client being checked; concurrent
/// registrations with the same token share one request.
/// </remarks>
public sealed partial class GlobusAuthenticator : IRelayAuthenticator, IDisposable
{
    /// <summary>The name of the <see cref="HttpClient"/> this authenticator asks <see cref="IHttpClientFactory"/> for.</summary>
    public const string HttpClientName = "PeerRelay.Globus";

    private const string Method = "globus";
    private const string InactiveReason = "Token is expired or has been revoked.";
    private const string UnavailableReason = "Token introspection failed; try again later.";

    private readonly GlobusAuthOptions _options;
    private readonly IHttpClientFactory _httpClientFactory;
    private readonly AuthenticationMetrics _metrics;
    private readonly ILogger<GlobusAuthenticator> _logger;
    private readonly IntrospectionCache _cache;
    private readonly AuthenticationHeaderValue _credentials;
    private readonly RelayAuthResult _wrongAudience;
    private readonly Lock _inflightLock = new();
    private readonly Dictionary<IntrospectionCache.TokenKey, Task<RelayAuthResult>> _inflight = [];
    private readonly CancellationTokenSource _disposed = new();

    internal GlobusAuthenticator(
        IOptions<GlobusAuthOptions> options,
        IHttpClientFactory httpClientFactory,
        AuthenticationMetrics metrics,
        ILogger<GlobusAuthenticator> logger)
    {
        _options = options.Value;
        _httpClientFactory = httpClientFactory;
        _metrics = metrics;
        _logger = logger;
        _cache = new IntrospectionCache(_options.CacheSize);

        // As the Globus SDK does: the id and secret as they are, not form-encoded first.
        _credentials = new AuthenticationHeaderValue(
            "Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_options.ClientId}:{_options.ClientSecret}")));
        _wrongAudience = RelayAuthResult.Forbidden(Fit(
            RelayCloseCodes.ForbiddenPrefix,
            $"Token audience does not include \"{_options.Audience}\". This could result in a confused deputy attack."));
    }

    /// <summary>Gets the number of cached introspection results.</summary>
    internal int CacheCount => _cache.Count;

    /// <inheritdoc />
    /// <value>Always true: a cached answer is returned at once and introspection is awaited asynchronously.</value>
    public bool RunsInline => true;

    /// <inheritdoc />
    public async ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handshake);
        if (!handshake.TryGetBearerToken(out var token, out var problem))
        {
            return RelayAuthResult.Unauthorized(problem);
        }

        var key = IntrospectionCache.KeyOf(token);
        if (_options.CacheDuration > TimeSpan.Zero)
        {
            var hit = _cache.TryGet(key, _options.TimeProvider.GetUtcNow(), out var cached);
            _metrics.CacheLookup(hit);
            if (hit)
            {
                return cached;
            }
        }

        // One request per token at a time; it runs on the authenticator's lifetime, not the client's, so a client
        // that goes away does not cancel the answer others wait for.
        Task<RelayAuthResult> introspection;
        lock (_inflightLock)
        {
            if (!_inflight.TryGetValue(key, out introspection!))
            {
                introspection = IntrospectAsync(token, key);
                _inflight[key] = introspection;
            }
        }

        return await introspection.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Cancels requests in flight. The token source is not disposed, so a registration that races with shutdown
    /// still gets an answer (1013) instead of an <see cref="ObjectDisposedException"/>.
    /// </remarks>
    public void Dispose() => _disposed.Cancel();

    private static string Fit(string prefix, string why) => RelayCloseCodes.FitReason(prefix + why)[prefix.Length..];

    private async Task<RelayAuthResult> IntrospectAsync(string token, IntrospectionCache.TokenKey key)
    {
        // Yield first so the request is registered in _inflight before this can complete and remove it.
        await Task.Yield();
        try
        {
            var (result, cacheable, expires) = await SendAsync(token);
            if (cacheable && _options.CacheDuration > TimeSpan.Zero)
            {
                var now = _options.TimeProvider.GetUtcNow();
                var until = now + _options.CacheDuration;
                _cache.Set(key, result, expires is { } exp && exp < until ? exp : until, now);
            }

            return result;
        }
        finally
        {
            lock (_inflightLock)
            {
                _inflight.Remove(key);
            }
        }
    }

    private async Task<(RelayAuthResult Result, bool Cacheable, DateTimeOffset? Expires)> SendAsync(string token)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
        timeout.CancelAfter(_options.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.IntrospectionUrl)
        {
            Content = new FormUrlEncodedContent([new KeyValuePair<string, string>("token", token)]),
        };
        request.Headers.Authorization = _credentials;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        JsonDocument document;
        try
        {
            using var response = await _httpClientFactory.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return Failed("credentials", started, () => Log.CredentialsRejected(_logger, _options.IntrospectionUrl, (int)response.StatusCode));
            }

            if (!response.IsSuccessStatusCode)
            {
                return Failed("status", started, () => Log.IntrospectionStatus(_logger, _options.IntrospectionUrl, (int)response.StatusCode));
            }

            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            document = await JsonDocument.ParseAsync(body, cancellationToken: timeout.Token);
        }
        catch (OperationCanceledException) when (!_disposed.IsCancellationRequested)
        {
            return Failed("timeout", started, () => Log.IntrospectionTimedOut(_logger, _options.IntrospectionUrl, _options.Timeout.TotalSeconds));
        }
        catch (OperationCanceledException)
        {
            return (RelayAuthResult.Unavailable("The relay is shutting down."), false, null);
        }
        catch (HttpRequestException ex)
        {
            return Failed("unreachable", started, () => Log.IntrospectionUnreachable(_logger, _options.IntrospectionUrl, ex.HttpRequestError, ex.Message));
        }
        catch (JsonException)
        {
            return Failed("invalid_response", started, () => Log.IntrospectionInvalid(_logger, _options.IntrospectionUrl, "the body is not JSON"));
        }

        using (document)
        {
            return Interpret(document.RootElement, started);
        }
    }

    private (RelayAuthResult, bool, DateTimeOffset?) Interpret(JsonElement root, long started)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Failed("invalid_response", started, () => Log.IntrospectionInvalid(_logger, _options.IntrospectionUrl, "the body is not a JSON object"));
        }

        if (!root.TryGetProperty("active", out var active) || active.ValueKind != JsonValueKind.True)
        {
            _metrics.Introspection("inactive", Stopwatch.GetElapsedTime(started));
            return (RelayAuthResult.Forbidden(InactiveReason), true, null);
        }

        _metrics.Introspection("active", Stopwatch.GetElapsedTime(started));
        DateTimeOffset? expires = null;
        if (root.TryGetProperty("exp", out var exp) && exp.ValueKind == JsonValueKind.Number && exp.TryGetInt64(out var seconds))
        {
            expires = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
            if (expires <= _options.TimeProvider.GetUtcNow())
            {
                return (RelayAuthResult.Forbidden(InactiveReason), true, null);
            }
        }

        if (!HasAudience(root))
        {
            return (_wrongAudience, true, expires);
        }

        if (!root.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String || sub.GetString() is not { Length: > 0 } user)
        {
            return (RelayAuthResult.Forbidden("Token introspection returned no subject (sub)."), true, expires);
        }

        return (RelayAuthResult.Success(new RelayUser(user)), true, expires);
    }

    /// <summary>RFC 7662 allows <c>aud</c> as one string or an array of strings.</summary>
    private bool HasAudience(JsonElement root)
    {
        if (!root.TryGetProperty("aud", out var aud))
        {
            return false;
        }

        if (aud.ValueKind == JsonValueKind.String)
        {
            return aud.ValueEquals(_options.Audience);
        }

        if (aud.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in aud.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.String && item.ValueEquals(_options.Audience))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private (RelayAuthResult, bool, DateTimeOffset?) Failed(string reason, long started, Action log)
    {
        _metrics.Introspection("error", Stopwatch.GetElapsedTime(started));
        _metrics.Unavailable(Method, reason);
        log();
        return (RelayAuthResult.Unavailable(UnavailableReason), false, null);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Token introspection at {Url} timed out after {Seconds} s; closing the client with 1013")]
        public static partial void IntrospectionTimedOut(ILogger logger, Uri url, double seconds);

        [LoggerMessage(2, LogLevel.Error, "Token introspection at {Url} failed ({Error}: {Message}); closing the client with 1013")]
        public static partial void IntrospectionUnreachable(ILogger logger, Uri url, HttpRequestError error, string message);

        [LoggerMessage(3, LogLevel.Error, "Token introspection at {Url} answered HTTP {Status}; closing the client with 1013")]
        public static partial void IntrospectionStatus(ILogger logger, Uri url, int status);

        [LoggerMessage(4, LogLevel.Critical, "Token introspection at {Url} refused the relay's client credentials (HTTP {Status}); check client_id and client_secret. Closing the client with 1013")]
        public static partial void CredentialsRejected(ILogger logger, Uri url, int status);

        [LoggerMessage(5, LogLevel.Error, "Token introspection at {Url} gave an invalid answer ({Why}); closing the client with 1013")]
        public static partial void IntrospectionInvalid(ILogger logger, Uri url, string why);
    }
}
