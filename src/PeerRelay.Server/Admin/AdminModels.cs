using System.Text.Json.Serialization;

namespace PeerRelay.Server.Admin;

/// <summary>One client in <c>GET /admin/api/clients</c>.</summary>
internal sealed record AdminClient(
    Guid Uuid, string Name, string User, string Node, string Remote, DateTimeOffset ConnectedSince, long MessagesIn, long MessagesOut);

/// <summary>A page of clients.</summary>
internal sealed record AdminClientPage(int Total, int Offset, int Limit, IReadOnlyList<AdminClient> Clients);

/// <summary>One user's registered clients.</summary>
internal sealed record AdminUser(string User, int Clients);

/// <summary>The users with registered clients, most clients first.</summary>
internal sealed record AdminUserList(int Total, IReadOnlyList<AdminUser> Users);

/// <summary>One node in <c>GET /admin/api/nodes</c>.</summary>
internal sealed record AdminNode(string Id, bool IsLocal, int Connections, int Clients, DateTimeOffset LastSeen, bool Draining);

/// <summary>The nodes, this one first.</summary>
internal sealed record AdminNodeList(IReadOnlyList<AdminNode> Nodes);

/// <summary>One close code and how often connections ended with it.</summary>
internal sealed record AdminCloseCount(int Code, long Count);

/// <summary><c>GET /admin/api/summary</c>: what the dashboard's header, charts and close table show.</summary>
internal sealed record AdminSummary(
    string Node,
    bool Draining,
    int Connections,
    int Clients,
    int Users,
    long MessagesReceived,
    long MessagesForwarded,
    long Refusals,
    string LogLevel,
    IReadOnlyList<ActivitySample> History,
    IReadOnlyList<AdminCloseCount> Closes);

/// <summary>The log level, read and set through <c>/admin/api/log-level</c>.</summary>
internal sealed record AdminLogLevel(string Level);

/// <summary>The answer to a drain.</summary>
internal sealed record AdminDrain(bool Draining, bool Started);

/// <summary>An error answer.</summary>
internal sealed record AdminError(string Error);

/// <summary>Source-generated JSON for the admin API: snake_case names, no reflection.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AdminClientPage))]
[JsonSerializable(typeof(AdminUserList))]
[JsonSerializable(typeof(AdminNodeList))]
[JsonSerializable(typeof(AdminSummary))]
[JsonSerializable(typeof(AdminLogLevel))]
[JsonSerializable(typeof(AdminDrain))]
[JsonSerializable(typeof(AdminError))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
