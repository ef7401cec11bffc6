using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace PeerRelay.Server.Authentication.Tests;

/// <summary>
/// A real identity provider on 127.0.0.1 for tests: an RFC 7662 introspection endpoint (<c>/introspect</c>), an
/// OpenID Connect discovery document and a JWKS with one RSA and one EC key, and token signing with those keys.
/// </summary>
public sealed class IdentityServer : IAsyncDisposable
{
    public const string ClientId = "relay-client";
    public const string ClientSecret = "s3cret+/=relay";
    public const string Audience = "relay-audience";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, string> _introspection = new();
    private int _introspections;

    private IdentityServer(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    public Uri IntrospectionUrl => new(BaseUri, "introspect");

    public Uri JwksUrl => new(BaseUri, "jwks");

    public string Issuer => BaseUri.AbsoluteUri.TrimEnd('/');

    /// <summary>Gets the <c>[auth]</c> section of a relay's TOML that accepts this server's JWTs (by its JWKS).</summary>
    public string JwtAuthToml => $"""
        [auth]
        method = "jwt"

        [auth.kwargs]
        issuer = "{Issuer}"
        audience = "{Audience}"
        jwks_url = "{JwksUrl}"
        """;

    /// <summary>Gets the published RSA key (generated once per test run: key generation is slow on small machines).</summary>
    public RsaSecurityKey RsaKey { get; } = SharedKeys.Rsa;

    /// <summary>Gets the published P-256 key.</summary>
    public ECDsaSecurityKey EcKey { get; } = SharedKeys.Ec;

    /// <summary>Gets the number of introspection requests answered (or held) so far.</summary>
    public int Introspections => Volatile.Read(ref _introspections);

    /// <summary>Gets or sets the status the introspection endpoint answers with; 200 by default.</summary>
    public int IntrospectionStatus { get; set; } = 200;

    /// <summary>Gets or sets the status the JWKS and discovery endpoints answer with; 200 by default.</summary>
    public int KeysStatus { get; set; } = 200;

    /// <summary>Gets the gate that introspection of <see cref="SlowToken"/> waits for.</summary>
    public TaskCompletionSource SlowGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A token whose introspection hangs until <see cref="SlowGate"/> is released.</summary>
    public string SlowToken { get; } = "slow-" + Guid.NewGuid().ToString("N");

    public static async Task<IdentityServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new IdentityServer(app);
        app.MapPost("/introspect", server.IntrospectAsync);
        app.MapGet("/jwks", (HttpContext context) => server.Keys(context, server.Jwks()));
        app.MapGet("/.well-known/openid-configuration", (HttpContext context) => server.Keys(
            context,
            JsonSerializer.Serialize(new Dictionary<string, object> { ["issuer"] = server.Issuer, ["jwks_uri"] = server.JwksUrl.AbsoluteUri })));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUri = new Uri(address + "/");
        return server;
    }

    /// <summary>Makes the introspection endpoint answer <paramref name="response"/> for <paramref name="token"/>.</summary>
    public void SetIntrospection(string token, object response) => _introspection[token] = JsonSerializer.Serialize(response);

    /// <summary>Registers an active token of <paramref name="sub"/> and returns it.</summary>
    public string ActiveToken(string sub, DateTimeOffset expires, string audience = Audience)
    {
        var token = "globus-" + Guid.NewGuid().ToString("N");
        SetIntrospection(token, new Dictionary<string, object>
        {
            ["active"] = true,
            ["sub"] = sub,
            ["aud"] = new[] { "other-resource", audience },
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["username"] = sub + "@example.org",
        });
        return token;
    }

    /// <summary>Signs a JWT with <paramref name="key"/> (RSA: RS256, EC: ES256 unless <paramref name="algorithm"/> says).</summary>
    public string Sign(
        SecurityKey key,
        string sub = "alice",
        string? issuer = null,
        string audience = Audience,
        DateTime? expires = null,
        DateTime? notBefore = null,
        string? algorithm = null,
        IDictionary<string, object>? claims = null)
    {
        algorithm ??= key is ECDsaSecurityKey ? SecurityAlgorithms.EcdsaSha256 : SecurityAlgorithms.RsaSha256;
        var allClaims = new Dictionary<string, object>(claims ?? new Dictionary<string, object>());
        if (sub.Length > 0)
        {
            allClaims["sub"] = sub;
        }

        var exp = expires ?? (notBefore ?? DateTime.UtcNow).AddMinutes(10);
        var nbf = notBefore ?? exp.AddMinutes(-30);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            Claims = allClaims,
            IssuedAt = nbf,
            NotBefore = nbf,
            Expires = exp,
            SigningCredentials = new SigningCredentials(key, algorithm),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    public async ValueTask DisposeAsync()
    {
        SlowGate.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task IntrospectAsync(HttpContext context)
    {
        Interlocked.Increment(ref _introspections);
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ClientId}:{ClientSecret}"));
        if (context.Request.Headers.Authorization != expected)
        {
            context.Response.StatusCode = 401;
            return;
        }

        var form = await context.Request.ReadFormAsync();
        var token = form["token"].ToString();
        if (token == SlowToken)
        {
            await SlowGate.Task;
        }

        if (IntrospectionStatus != 200)
        {
            context.Response.StatusCode = IntrospectionStatus;
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(_introspection.TryGetValue(token, out var body) ? body : """{"active": false}""");
    }

    private IResult Keys(HttpContext context, string json) =>
        KeysStatus == 200 ? Results.Content(json, "application/json") : Results.StatusCode(KeysStatus);

    private string Jwks()
    {
        var rsa = RsaKey.Rsa.ExportParameters(false);
        var ec = EcKey.ECDsa.ExportParameters(false);
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["keys"] = new object[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA", ["use"] = "sig", ["kid"] = RsaKey.KeyId, ["alg"] = "RS256",
                    ["n"] = Base64UrlEncoder.Encode(rsa.Modulus), ["e"] = Base64UrlEncoder.Encode(rsa.Exponent),
                },
                new Dictionary<string, string>
                {
                    ["kty"] = "EC", ["use"] = "sig", ["kid"] = EcKey.KeyId, ["crv"] = "P-256",
                    ["x"] = Base64UrlEncoder.Encode(ec.Q.X), ["y"] = Base64UrlEncoder.Encode(ec.Q.Y),
                },
            },
        });
    }
}

internal static class SharedKeys
{
    public static readonly RsaSecurityKey Rsa = new(RSA.Create(2048)) { KeyId = "rsa-1" };
    public static readonly ECDsaSecurityKey Ec = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "ec-1" };
}
