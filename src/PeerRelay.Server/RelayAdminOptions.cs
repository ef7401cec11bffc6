namespace PeerRelay.Server;

/// <summary>
/// Who may use the admin API and dashboard (<c>/admin</c>, docs/operations.md). With neither set they answer 404.
/// </summary>
public sealed class RelayAdminOptions
{
    /// <summary>
    /// Gets or sets the bearer token a request must carry (<c>Authorization: Bearer TOKEN</c>; <c>admin_token</c>).
    /// Compared in constant time; never logged. Null (the default): no request is let in by token.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// Gets or sets a port the host listens on on loopback only (<c>admin_port</c>): requests that arrive there from a
    /// loopback address, for a loopback host name, need no token. Null (the default): none.
    /// </summary>
    public int? LoopbackPort { get; set; }
}
