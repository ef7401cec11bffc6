using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PeerRelay.Protocol;
using PeerRelay.Server.Cluster;
using PeerRelay.Server.Internal;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Admin;

/// <summary>
/// The admin API's handlers (<c>/admin/api/...</c>, docs/operations.md, "Admin API"). Each runs after
/// <see cref="AdminAccess"/> let the request in; everything it reads is this node's state, and the node list comes from
/// the <see cref="IRelayNodeDirectory"/> a scale-out backend may replace.
/// </summary>
internal sealed partial class AdminApi(
    ClientRegistry registry,
    IRelayRegistry relays,
    RelayLifetime lifetime,
    IRelayNodeDirectory nodes,
    RelayActivity activity,
    LogLevelSwitch logLevel,
    TimeProvider timeProvider,
    ILogger<AdminApi> logger)
{
    /// <summary>The reason of the 1008 close a kicked client gets.</summary>
    public const string KickReason = "Disconnected by the relay's operator.";

    /// <summary>Clients per page when the request does not say.</summary>
    public const int DefaultPageSize = 100;

    /// <summary>The largest page.</summary>
    public const int MaxPageSize = 1000;

    /// <summary><c>GET clients?user=U&amp;name=N&amp;offset=O&amp;limit=L</c>: registered clients, oldest first.</summary>
    public Task ListClientsAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var user = query["user"].ToString();
        var name = query["name"].ToString();
        if (!TryReadInt(query["offset"], 0, 0, int.MaxValue, out var offset) || !TryReadInt(query["limit"], DefaultPageSize, 1, MaxPageSize, out var limit))
        {
            return WriteAsync(context, StatusCodes.Status400BadRequest, new AdminError($"offset must be 0 or more and limit from 1 to {MaxPageSize}"), AdminJsonContext.Default.AdminError);
        }

        var matches = new List<(long Opened, RelayConnection Connection, RelayClientRegistration Registration)>();
        foreach (var connection in registry.EnumerateConnections())
        {
            if (connection.Registration is not { } registration)
            {
                continue;
            }

            if ((user.Length == 0 || string.Equals(registration.User.Id, user, StringComparison.Ordinal))
                && (name.Length == 0 || registration.Name.Contains(name, StringComparison.OrdinalIgnoreCase)))
            {
                matches.Add((connection.OpenedTimestamp, connection, registration));
            }
        }

        matches.Sort(static (a, b) => a.Opened.CompareTo(b.Opened));
        var now = timeProvider.GetUtcNow();
        var page = new List<AdminClient>(Math.Min(limit, Math.Max(0, matches.Count - offset)));
        for (var i = offset; i < matches.Count && page.Count < limit; i++)
        {
            var (opened, connection, registration) = matches[i];
            page.Add(new AdminClient(
                registration.Uuid,
                registration.Name,
                registration.User.Id,
                nodes.LocalNodeId,
                connection.Remote,
                now - System.Diagnostics.Stopwatch.GetElapsedTime(opened),
                connection.MessagesIn,
                connection.MessagesOut));
        }

        return WriteAsync(context, StatusCodes.Status200OK, new AdminClientPage(matches.Count, offset, limit, page), AdminJsonContext.Default.AdminClientPage);
    }

    /// <summary>
    /// <c>DELETE clients/{uuid}</c>: closes the client with 1008 and <see cref="KickReason"/>, on whichever node of a
    /// fleet holds it, and answers once its close has completed.
    /// </summary>
    public async Task KickAsync(HttpContext context)
    {
        if (!Guid.TryParse(context.Request.RouteValues["uuid"] as string, out var uuid))
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, new AdminError("not a UUID"), AdminJsonContext.Default.AdminError);
            return;
        }

        var remote = (relays.Find(uuid) as RelayConnection)?.Remote ?? "another node";
        if (!await relays.CloseAsync(uuid, RelayCloseCodes.PolicyViolation, KickReason, context.RequestAborted))
        {
            await WriteAsync(context, StatusCodes.Status404NotFound, new AdminError($"client {uuid} is not registered"), AdminJsonContext.Default.AdminError);
            return;
        }

        Log.Kicked(logger, uuid, remote);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary><c>GET users</c>: users with registered clients and how many each has, most first.</summary>
    public Task ListUsersAsync(HttpContext context)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var registration in registry.SnapshotRegistrations(int.MaxValue))
        {
            counts[registration.User.Id] = counts.GetValueOrDefault(registration.User.Id) + 1;
        }

        var users = counts.Select(p => new AdminUser(p.Key, p.Value))
            .OrderByDescending(u => u.Clients)
            .ThenBy(u => u.User, StringComparer.Ordinal)
            .Take(MaxPageSize)
            .ToList();
        return WriteAsync(context, StatusCodes.Status200OK, new AdminUserList(counts.Count, users), AdminJsonContext.Default.AdminUserList);
    }

    /// <summary><c>GET nodes</c>.</summary>
    public async Task ListNodesAsync(HttpContext context)
    {
        var list = await nodes.GetNodesAsync(context.RequestAborted);
        var body = new AdminNodeList([.. list.Select(n => new AdminNode(n.Id, n.IsLocal, n.Connections, n.Clients, n.LastSeen, n.Draining))]);
        await WriteAsync(context, StatusCodes.Status200OK, body, AdminJsonContext.Default.AdminNodeList);
    }

    /// <summary><c>GET summary</c>: counts now, the charts' history and closes by code.</summary>
    public Task SummaryAsync(HttpContext context)
    {
        var (samples, closes, received, forwarded, refused) = activity.Snapshot();
        var summary = new AdminSummary(
            nodes.LocalNodeId,
            lifetime.IsDraining,
            registry.ConnectionCount,
            registry.RegisteredCount,
            registry.CountUsers(),
            received,
            forwarded,
            refused,
            RelayLogLevelNames.ToName(logLevel.Level ?? LogLevelSwitch.Effective(logger)),
            samples,
            [.. closes.OrderBy(c => c.Key).Select(c => new AdminCloseCount(c.Key, c.Value))]);
        return WriteAsync(context, StatusCodes.Status200OK, summary, AdminJsonContext.Default.AdminSummary);
    }

    /// <summary><c>POST drain</c>: this node stops taking clients and closes its clients with 1001.</summary>
    public Task DrainAsync(HttpContext context)
    {
        var started = lifetime.BeginDrain();
        if (started)
        {
            Log.Drained(logger);
        }

        return WriteAsync(context, StatusCodes.Status202Accepted, new AdminDrain(Draining: true, started), AdminJsonContext.Default.AdminDrain);
    }

    /// <summary><c>GET log-level</c>.</summary>
    public Task GetLogLevelAsync(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status200OK, new AdminLogLevel(RelayLogLevelNames.ToName(logLevel.Level ?? LogLevelSwitch.Effective(logger))), AdminJsonContext.Default.AdminLogLevel);

    /// <summary><c>PUT log-level</c> with <c>{"level": "DEBUG"}</c>: the level of PeerRelay's own logs from now on.</summary>
    public async Task SetLogLevelAsync(HttpContext context)
    {
        AdminLogLevel? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(context.Request.Body, AdminJsonContext.Default.AdminLogLevel, context.RequestAborted);
        }
        catch (JsonException)
        {
            body = null;
        }

        if (!RelayLogLevelNames.TryParse(body?.Level, out var level))
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, new AdminError("send {\"level\": \"DEBUG\"}: one of DEBUG, INFO, WARNING, ERROR, CRITICAL"), AdminJsonContext.Default.AdminError);
            return;
        }

        logLevel.Set(level);
        Log.LogLevelSet(logger, RelayLogLevelNames.ToName(level));
        await WriteAsync(context, StatusCodes.Status200OK, new AdminLogLevel(RelayLogLevelNames.ToName(level)), AdminJsonContext.Default.AdminLogLevel);
    }

    private static Task WriteAsync<T>(HttpContext context, int status, T body, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return JsonSerializer.SerializeAsync(context.Response.Body, body, type, context.RequestAborted);
    }

    private static bool TryReadInt(Microsoft.Extensions.Primitives.StringValues text, int fallback, int min, int max, out int value)
    {
        if (text.Count == 0 || text.ToString().Length == 0)
        {
            value = fallback;
            return true;
        }

        return int.TryParse(text.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
    }

    private static partial class Log
    {
        [LoggerMessage(500, LogLevel.Information, "Admin API: closed client {Uuid} at {Remote} with 1008")]
        public static partial void Kicked(ILogger logger, Guid uuid, string remote);

        [LoggerMessage(501, LogLevel.Information, "Admin API: draining this node")]
        public static partial void Drained(ILogger logger);

        [LoggerMessage(502, LogLevel.Warning, "Admin API: PeerRelay's log level is now {Level}")]
        public static partial void LogLevelSet(ILogger logger, string level);
    }
}
