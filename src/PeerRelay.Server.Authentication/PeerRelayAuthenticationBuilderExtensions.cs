using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerRelay.Server.Authentication.Internal;
using PeerRelay.Server.Hosting;

namespace PeerRelay.Server.Authentication;

/// <summary>Turns on Globus or JWT/OIDC authentication for the relay.</summary>
public static class PeerRelayAuthenticationBuilderExtensions
{
    /// <summary>The largest introspection, discovery or key set answer read: 1 MiB.</summary>
    private const int MaxResponseBytes = 1 << 20;

    /// <summary>
    /// Authenticates clients with Globus Auth token introspection (<see cref="GlobusAuthenticator"/>). The options are
    /// validated when the host starts. Environment variables are not read here: call
    /// <see cref="GlobusAuthOptions.ApplyEnvironment"/> in <paramref name="configure"/> for ProxyStore's fallback.
    /// </summary>
    /// <param name="builder">The relay builder.</param>
    /// <param name="configure">Sets <see cref="GlobusAuthOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IPeerRelayBuilder AddGlobusAuthentication(this IPeerRelayBuilder builder, Action<GlobusAuthOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        AddOptions(builder.Services, configure, o => o.Validate());
        AddCommon(builder.Services, GlobusAuthenticator.HttpClientName);
        builder.Services.Replace(ServiceDescriptor.Singleton<IRelayAuthenticator>(sp => new GlobusAuthenticator(
            sp.GetRequiredService<IOptions<GlobusAuthOptions>>(),
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<AuthenticationMetrics>(),
            sp.GetRequiredService<ILogger<GlobusAuthenticator>>())));
        return builder;
    }

    /// <summary>
    /// Authenticates clients with JWTs validated against a JWKS or an OpenID Connect provider
    /// (<see cref="JwtAuthenticator"/>). The options are validated when the host starts.
    /// </summary>
    /// <param name="builder">The relay builder.</param>
    /// <param name="configure">Sets <see cref="JwtAuthOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IPeerRelayBuilder AddJwtAuthentication(this IPeerRelayBuilder builder, Action<JwtAuthOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        AddOptions(builder.Services, configure, o => o.Validate());
        AddCommon(builder.Services, JwtAuthenticator.HttpClientName);
        builder.Services.Replace(ServiceDescriptor.Singleton<IRelayAuthenticator>(sp => new JwtAuthenticator(
            sp.GetRequiredService<IOptions<JwtAuthOptions>>(),
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<AuthenticationMetrics>(),
            sp.GetRequiredService<ILogger<JwtAuthenticator>>())));
        return builder;
    }

    private static void AddOptions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(
        IServiceCollection services, Action<T> configure, Func<T, IReadOnlyList<string>> validate)
        where T : class
    {
        services.AddOptions<T>().Configure(configure).ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>>(new ProblemsValidator<T>(validate));
    }

    private static void AddCommon(IServiceCollection services, string httpClientName)
    {
        services.TryAddSingleton<AuthenticationMetrics>();

        // The client secret travels in the Authorization header: keep every header value out of HttpClient's logs.
        // Identity answers are small; a bound keeps a broken or hostile endpoint from filling memory.
        services.AddHttpClient(httpClientName, static c => c.MaxResponseContentBufferSize = MaxResponseBytes)
            .RedactLoggedHeaders(static _ => true);
    }
}
