namespace PeerRelay.Testing;

/// <summary>What <see cref="RedisServer.StartAsync(RedisServerOptions)"/> starts.</summary>
public sealed record RedisServerOptions
{
    /// <summary>Gets more <c>redis-server</c> options, e.g. <c>--cluster-enabled yes</c>; they come last.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Gets a configuration file given before every option (a Sentinel needs one it can rewrite), or null.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Gets a value indicating whether to start Debian's <c>redis-sentinel</c> instead of <c>redis-server</c>.</summary>
    public bool Sentinel { get; init; }

    /// <summary>Gets the default user's password (<c>--requirepass</c>), or null; <see cref="RedisServer.CliAsync"/> authenticates with it.</summary>
    public string? Password { get; init; }

    /// <summary>
    /// Gets the files of a server that speaks TLS only (<c>--port 0 --tls-port</c>, no client certificates asked for),
    /// or null; <see cref="RedisServer.CliAsync"/> then connects with <c>--tls</c> and trusts the CA.
    /// </summary>
    public RedisTlsFiles? Tls { get; init; }
}
