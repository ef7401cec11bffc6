using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerRelay.Server.Admin;
using PeerRelay.Server.Internal;

namespace PeerRelay.Server.Hosting;

/// <summary>The admin API and live dashboard (docs/operations.md, "Admin API" and "Dashboard").</summary>
public static class PeerRelayAdminExtensions
{
    // The dashboard's own script, style and API only: no inline code, nothing from another origin (data: only for the
    // empty icon, so that the browser does not ask the relay for /favicon.ico).
    private const string DashboardContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>
    /// Adds the admin side: who may use it (<paramref name="configure"/>: a bearer token, a loopback port, or both), the
    /// activity the dashboard charts, and the run-time log level. Map it with <see cref="MapPeerRelayAdmin"/>.
    /// </summary>
    /// <param name="builder">The relay builder.</param>
    /// <param name="configure">Sets <see cref="RelayAdminOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IPeerRelayBuilder AddAdmin(this IPeerRelayBuilder builder, Action<RelayAdminOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<RelayAdminOptions>().Configure(configure);
        services.TryAddSingleton<AdminAccess>();
        services.TryAddSingleton<AdminApi>();
        services.TryAddSingleton<RelayActivity>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RelayActivity>(sp => sp.GetRequiredService<RelayActivity>()));
        services.TryAddSingleton<LogLevelSwitch>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<LoggerFilterOptions>, LogLevelSwitch>(sp => sp.GetRequiredService<LogLevelSwitch>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<LoggerFilterOptions>, LogLevelSwitch>(sp => sp.GetRequiredService<LogLevelSwitch>()));
        return builder;
    }

    /// <summary>
    /// Maps the dashboard at <c>/admin</c> and the JSON API under <c>/admin/api/</c>: <c>GET clients</c> (filters
    /// <c>user</c>, <c>name</c>; paged by <c>offset</c>, <c>limit</c>), <c>DELETE clients/{uuid}</c> (close 1008),
    /// <c>GET users</c>, <c>GET nodes</c>, <c>GET summary</c>, <c>POST drain</c>, <c>GET</c>/<c>PUT log-level</c>.
    /// Every API request passes the access check (401 without the token, 403 from another origin).
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <returns>The route group of the API.</returns>
    public static IEndpointConventionBuilder MapPeerRelayAdmin(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var access = endpoints.ServiceProvider.GetRequiredService<AdminAccess>();
        var api = endpoints.ServiceProvider.GetRequiredService<AdminApi>();

        // The page and its files hold no data; they are served where the API can be reached at all.
        Func<HttpContext, bool> served = context => access.Check(context) != StatusCodes.Status404NotFound;
        BrowserAssets.MapEmbedded(endpoints, "/admin", "admin.html", "text/html; charset=utf-8", DashboardContentSecurityPolicy, served);
        BrowserAssets.MapEmbedded(endpoints, "/admin/admin.js", "admin.js", "text/javascript; charset=utf-8", DashboardContentSecurityPolicy, served);
        BrowserAssets.MapEmbedded(endpoints, "/admin/admin.css", "admin.css", "text/css; charset=utf-8", DashboardContentSecurityPolicy, served);

        var group = endpoints.MapGroup("/admin/api");
        Map(group, HttpMethods.Get, "/clients", api.ListClientsAsync);
        Map(group, HttpMethods.Delete, "/clients/{uuid}", api.KickAsync);
        Map(group, HttpMethods.Get, "/users", api.ListUsersAsync);
        Map(group, HttpMethods.Get, "/nodes", api.ListNodesAsync);
        Map(group, HttpMethods.Get, "/summary", api.SummaryAsync);
        Map(group, HttpMethods.Post, "/drain", api.DrainAsync);
        Map(group, HttpMethods.Get, "/log-level", api.GetLogLevelAsync);
        Map(group, HttpMethods.Put, "/log-level", api.SetLogLevelAsync);
        return group;

        void Map(IEndpointRouteBuilder routes, string method, string pattern, RequestDelegate handler) =>
            routes.MapMethods(pattern, [method], context => access.Check(context) is { } refused ? AdminAccess.RefuseAsync(context, refused) : handler(context))
                .WithDisplayName($"PeerRelay admin {method} {pattern}");
    }
}
