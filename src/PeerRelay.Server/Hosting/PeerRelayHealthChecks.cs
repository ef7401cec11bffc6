namespace PeerRelay.Server.Hosting;

/// <summary>
/// Readiness (<c>/readyz</c>) is the ASP.NET Core health checks tagged <see cref="ReadyTag"/>: the relay adds
/// <c>drain</c> (not ready while draining); a scale-out backend adds its own (e.g. not ready while its required store is
/// unreachable) with <c>services.AddHealthChecks().AddCheck&lt;T&gt;("cluster", tags: [PeerRelayHealthChecks.ReadyTag])</c>.
/// Liveness (<c>/healthz</c>) runs no check: it answers while the process serves requests.
/// </summary>
public static class PeerRelayHealthChecks
{
    /// <summary>The tag of the health checks <c>/readyz</c> runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>The name of the relay's own readiness check (not ready while draining).</summary>
    public const string DrainCheckName = "drain";
}
