using System.Globalization;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Redis;
using Tomlyn;
using Tomlyn.Parsing;
using Tomlyn.Syntax;
using Tomlyn.Model;

namespace PeerRelay.Configuration;

/// <summary>
/// Reads the TOML configuration file (the reference relay's keys under both the names of its fields and of its docs,
/// plus PeerRelay's own), applies the command-line overrides and validates the result.
/// To add a key: one line in the table below, one row in <c>docs/configuration.md</c>.
/// </summary>
internal static class RelayConfigLoader
{
    private const int MaxQueueCapacity = 1_000_000;

    private static readonly ConfigKey[] LoggingKeys =
    [
        new("log_dir", (c, v) => c.Config.Logging.LogDir = v.AsNonEmptyString()),
        new("log_format", (c, v) => c.Config.Logging.JsonFormat = v.AsOneOf("text", "json") == "json"),
        new("default_level", "default_log_level", (c, v) => c.Config.Logging.DefaultLevel = v.AsLogLevel()),
        new("websockets_level", "websockets_log_level", (c, v) => c.Config.Logging.WebSocketsLevel = v.AsLogLevel()),
        new("current_client_interval", "connected_client_logging_interval",
            (c, v) => c.Config.Server.ConnectedClientLogInterval = v.AsSeconds(allowZero: true)),
        new("current_client_limit", "connected_client_logging_limit",
            (c, v) => c.Config.Server.ConnectedClientLogLimit = v.AsInt32(0, int.MaxValue, "clients")),
    ];

    private static readonly ConfigKey[] AuthKeys =
    [
        new("method", (c, v) => c.Config.Auth.Method = v.AsNonEmptyString()),
        new("kwargs", (c, v) => CopyTable(v.AsTable(), c.Config.Auth.Kwargs)),
    ];

    private static readonly ConfigKey[] ClusterKeys =
    [
        new("redis", (c, v) => c.Config.Cluster!.Configuration = v.AsNonEmptyString()),
        new("node_id", (c, v) => c.Config.Cluster!.NodeId = v.AsNonEmptyString()),
        new("heartbeat_interval", (c, v) => c.Config.Cluster!.HeartbeatInterval = v.AsSeconds(allowZero: false)),
        new("node_timeout", (c, v) => c.Config.Cluster!.NodeTimeout = v.AsSeconds(allowZero: false)),
        new("key_prefix", (c, v) => c.Config.Cluster!.KeyPrefix = v.AsNonEmptyString()),
        new("redis_ca_file", (c, v) => c.Config.Cluster!.CaFile = v.AsNonEmptyString()),
    ];

    private static readonly ConfigKey[] TopLevelKeys =
    [
        new("host", (c, v) => c.Config.Host = v.AsNonEmptyString()),
        new("port", (c, v) => c.Config.Port = v.AsInt32(0, 65535)),
        new("certfile", (c, v) => c.Config.CertFile = v.AsNonEmptyString()),
        new("keyfile", (c, v) => c.Config.KeyFile = v.AsNonEmptyString()),
        new("max_message_bytes", (c, v) => c.Config.Server.MaxMessageBytes = v.AsInt32(1, int.MaxValue, "bytes")),
        new("transport_max_message_bytes", (c, v) => c.Config.Server.TransportMaxMessageBytes = v.AsInt32(1, int.MaxValue, "bytes")),
        new("ping_interval", (c, v) => c.Config.Server.KeepAliveInterval = v.AsSeconds(allowZero: true)),
        new("ping_timeout", (c, v) => c.Config.Server.KeepAliveTimeout = v.AsSeconds(allowZero: false)),
        new("send_queue_capacity", (c, v) => c.Config.Server.SendQueueCapacity = v.AsInt32(1, MaxQueueCapacity, "messages")),
        new("close_timeout", (c, v) => c.Config.Server.CloseTimeout = v.AsSeconds(allowZero: false)),
        new("slow_reader_timeout", (c, v) => c.Config.Server.SlowReaderTimeout = v.AsSeconds(allowZero: true)),
        new("inline_io", (c, v) => c.Config.InlineIo = v.AsBoolean()),
        new("socket_transport", (c, v) => c.Config.SocketTransport = v.AsOneOf("relay", "kestrel", "epoll") switch
        {
            "kestrel" => SocketTransportKind.Kestrel,
            "epoll" => SocketTransportKind.Epoll,
            _ => SocketTransportKind.Relay,
        }),
        new("listen_backlog", (c, v) => c.Config.ListenBacklog = v.AsInt32(1, 65535, "connections")),
        new("allowed_origins", (c, v) => AddAll(v.AsStringList(), c.Config.Server.AllowedOrigins)),

        // Operations (docs/operations.md): metrics, admin API.
        new("metrics", (c, v) => c.Config.Metrics = v.AsBoolean()),
        new("metrics_port", (c, v) => c.Config.MetricsPort = v.AsInt32(1, 65535)),
        new("admin_token", (c, v) => c.Config.AdminToken = AsToken(v)),
        new("admin_port", (c, v) => c.Config.AdminPort = v.AsInt32(1, 65535)),

        // Limits (docs/configuration.md, "Limits"; docs/security.md, "Limits and abuse resistance").
        new("max_connections", (c, v) => c.Config.Server.MaxConnections = v.AsInt32(1, int.MaxValue, "connections")),
        new("max_connections_per_ip", (c, v) => c.Config.Server.MaxConnectionsPerIp = v.AsInt32(1, int.MaxValue, "connections")),
        new("trusted_proxies", (c, v) => AddAll(v.AsStringList(), c.Config.Server.TrustedProxies)),
        new("new_connection_rate", (c, v) => c.Config.Server.NewConnectionRate = AsRate(v, "connections")),
        new("new_connection_burst", (c, v) => c.Config.Server.NewConnectionBurst = v.AsInt32(1, int.MaxValue, "connections")),
        new("abuse_penalty", (c, v) => c.Config.Server.AbusePenalty = v.AsSeconds(allowZero: true)),
        new("max_clients_per_user", (c, v) => c.Config.Server.MaxClientsPerUser = v.AsInt32(1, int.MaxValue, "clients")),
        new("registration_timeout", (c, v) => c.Config.Server.RegistrationTimeout = v.AsSeconds(allowZero: true)),
        new("handshake_timeout", (c, v) => c.Config.Server.HandshakeTimeout = v.AsSeconds(allowZero: false)),
        new("message_rate", (c, v) => c.Config.Server.MessageRate = AsRate(v)),
        new("message_burst", (c, v) => c.Config.Server.MessageBurst = v.AsInt32(1, int.MaxValue, "messages")),
        new("message_rate_sustained", (c, v) => c.Config.Server.MessageRateSustained = v.AsSeconds(allowZero: false)),
        new("auth", (c, v) => c.ReadTable(v.AsTable(), "auth.", AuthKeys)),
        new("logging", (c, v) => c.ReadTable(v.AsTable(), "logging.", LoggingKeys)),
        new("cluster", (c, v) =>
        {
            var table = v.AsTable();
            c.Config.Cluster = new RedisScaleOutOptions();
            c.ReadTable(table, "cluster.", ClusterKeys);
        }),
    ];

    /// <summary>Reads <paramref name="path"/> (when given), applies <paramref name="overrides"/> and validates.</summary>
    /// <param name="path">The TOML file (<c>--config</c>), or null for defaults only.</param>
    /// <param name="overrides">The command-line options.</param>
    /// <returns>The configuration, with any warnings in <see cref="RelayConfig.Warnings"/>.</returns>
    /// <exception cref="RelayConfigException">The file cannot be read or a value is bad.</exception>
    public static RelayConfig Load(string? path, CommandLineOverrides overrides)
    {
        var environment = EnvironmentConfig.FromProcess();
        if (path is null)
        {
            return Parse(null, null, overrides, environment);
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new RelayConfigException($"--config: cannot read \"{path}\": {ex.Message}");
        }

        return Parse(text, path, overrides, environment);
    }

    /// <summary>
    /// Reads configuration text, then the <c>PEERRELAY_*</c> variables in <paramref name="environment"/>, then
    /// <paramref name="overrides"/> (each later source wins: command line, environment, file, default) and validates.
    /// </summary>
    /// <param name="toml">The TOML text, or null for defaults only.</param>
    /// <param name="sourceName">The file name for messages.</param>
    /// <param name="overrides">The command-line options; none when null.</param>
    /// <param name="environment">Environment variables (<see cref="EnvironmentConfig"/>); none when null.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="RelayConfigException">The text is not TOML or a value is bad.</exception>
    public static RelayConfig Parse(string? toml, string? sourceName, CommandLineOverrides? overrides = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var config = new RelayConfig { SourcePath = sourceName };
        var problems = new List<string>();
        if (toml is not null)
        {
            var name = sourceName ?? "config";
            // The syntax first, on its own: every syntax error in the file at once, each with its line and column.
            var syntax = SyntaxParser.Parse(toml, name, validate: true);
            if (syntax.HasErrors)
            {
                throw new RelayConfigException(SyntaxProblems(syntax.Diagnostics, name), []);
            }

            TomlTable table;
            try
            {
                table = TomlSerializer.Deserialize(toml, new RelayTomlContext(new TomlSerializerOptions { SourceName = name }).TomlTable)!;
            }
            catch (TomlException ex)
            {
                throw new RelayConfigException(SyntaxProblems(ex.Diagnostics, name), []);
            }

            var context = new ConfigReadContext(config, name);
            context.ReadTable(table, string.Empty, TopLevelKeys);
            problems.AddRange(context.Problems);
        }

        if (environment is not null && EnvironmentConfig.ToTable(environment) is { } variables)
        {
            var context = new ConfigReadContext(config, EnvironmentConfig.SourceName);
            context.ReadTable(variables, string.Empty, TopLevelKeys);
            problems.AddRange(context.Problems);
        }

        ApplyOverrides(config, overrides ?? CommandLineOverrides.None, problems);
        if (config.KeyFile is not null && config.CertFile is null)
        {
            problems.Add($"keyfile: \"{config.KeyFile}\" is set but certfile is not; set certfile too, or remove keyfile");
        }

        if (config.SocketTransport == SocketTransportKind.Epoll && !OperatingSystem.IsLinux())
        {
            problems.Add("socket_transport: \"epoll\" runs on Linux only; use \"relay\" here");
        }

        // Every problem at once, each naming the file: the values the file set, then how they fit together, then the
        // [auth] method's settings (checked here as the relay will apply them, not later at start-up).
        var prefix = sourceName is null ? string.Empty : sourceName + ": ";
        foreach (var problem in config.Server.Validate())
        {
            problems.Add(prefix + problem);
        }

        foreach (var problem in config.Cluster?.Validate() ?? [])
        {
            problems.Add(prefix + problem);
        }

        ValidatePorts(config, problems, prefix);

        foreach (var problem in AuthConfiguration.Validate(config.Auth.Method, config.Auth.Kwargs, Environment.GetEnvironmentVariable))
        {
            problems.Add(prefix + problem);
        }

        WarnAboutTransportLimit(config, prefix);
        if (problems.Count > 0)
        {
            throw new RelayConfigException(problems, config.Warnings);
        }

        return config;
    }

    private static void ApplyOverrides(RelayConfig config, CommandLineOverrides overrides, List<string> problems)
    {
        Apply(overrides.Host, "--host", v => config.Host = v.AsNonEmptyString());
        Apply(overrides.Port is { } port ? (long)port : null, "--port", v => config.Port = v.AsInt32(0, 65535));
        Apply(overrides.LogDir, "--log-dir", v => config.Logging.LogDir = v.AsNonEmptyString());
        Apply(overrides.LogLevel, "--log-level", v => config.Logging.DefaultLevel = v.AsLogLevel());

        void Apply(object? value, string option, Action<ConfigValue> apply)
        {
            if (value is null)
            {
                return;
            }

            try
            {
                apply(new ConfigValue(option, value));
            }
            catch (ConfigValueException ex)
            {
                problems.Add(ex.Message);
            }
        }
    }

    /// <summary>
    /// The transport closes a message over <c>transport_max_message_bytes</c> (1009) before <c>max_message_bytes</c>
    /// (4003) is looked at, so a larger <c>max_message_bytes</c> never applies. The reference accepts such a file
    /// (its WebSocket library has the same 1 MiB limit), so it is a warning naming both keys, not an error.
    /// </summary>
    private static void WarnAboutTransportLimit(RelayConfig config, string prefix)
    {
        var server = config.Server;
        if (server.MaxMessageBytes is { } max && max > server.TransportMaxMessageBytes)
        {
            config.Warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{prefix}max_message_bytes ({max}) is above transport_max_message_bytes ({server.TransportMaxMessageBytes}): messages over {server.TransportMaxMessageBytes} bytes are closed with 1009 before max_message_bytes applies; raise transport_max_message_bytes to at least {max}, or lower max_message_bytes"));
        }
    }

    /// <summary>The syntax errors Tomlyn found, one per line, as "FILE:LINE:COLUMN: message (the file is not valid TOML)".</summary>
    private static List<string> SyntaxProblems(DiagnosticsBag diagnostics, string name)
    {
        var problems = new List<string>();
        var lines = new HashSet<int>();
        foreach (var diagnostic in diagnostics)
        {
            // The first error of each line: the ones after it on the same line follow from it.
            if (diagnostic.Kind != DiagnosticMessageKind.Error || !lines.Add(diagnostic.Span.Start.Line))
            {
                continue;
            }

            var start = diagnostic.Span.Start;
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"{name}:{start.Line + 1}:{start.Column + 1}: {diagnostic.Message.TrimEnd('.')} (the file is not valid TOML)"));
        }

        if (problems.Count == 0)
        {
            problems.Add($"{name}: {FirstLine(diagnostics.ToString())} (the file is not valid TOML)");
        }

        return problems;
    }
    private static void ValidatePorts(RelayConfig config, List<string> problems, string prefix)
    {
        if (config.MetricsPort is { } metrics && (metrics == config.Port || metrics == config.AdminPort))
        {
            problems.Add($"{prefix}metrics_port: {metrics} is already the relay's port or admin_port; use another port, or leave metrics_port out to serve /metrics on the relay's port");
        }

        if (config.AdminPort is { } admin && admin == config.Port)
        {
            problems.Add($"{prefix}admin_port: {admin} is already the relay's port; use another port (it listens on loopback only)");
        }
    }

    /// <summary>Reads the admin token: at least 16 characters, so that it cannot be guessed; never echoed in errors.</summary>
    private static string AsToken(ConfigValue value) =>
        value.Value is string { Length: >= 16 } token && !token.Any(char.IsWhiteSpace)
            ? token
            : throw new ConfigValueException($"{value.Key}: the value is not allowed; use a secret of at least 16 characters without spaces (e.g. from `openssl rand -hex 32`)");

    /// <summary>Sets a list: a later source (the environment over the file) replaces it, never adds to it.</summary>
    private static void AddAll(IReadOnlyList<string> values, IList<string> target)
    {
        target.Clear();
        foreach (var value in values)
        {
            target.Add(value);
        }
    }

    /// <summary>Reads a rate per second (of <paramref name="what"/>): a whole or decimal number, 0 (off) or more.</summary>
    private static double AsRate(ConfigValue value, string what = "messages") => value.Value switch
    {
        long whole when whole >= 0 => whole,
        double fraction when double.IsFinite(fraction) && fraction >= 0 => fraction,
        _ => throw value.NotAllowed($"a number of {what} per second, 0 (off) or more"),
    };

    private static void CopyTable(TomlTable table, Dictionary<string, object?> target)
    {
        foreach (var (key, value) in table)
        {
            target[key] = ToPlain(value);
        }
    }

    private static object? ToPlain(object? value)
    {
        switch (value)
        {
            case TomlTable table:
                var dictionary = new Dictionary<string, object?>(StringComparer.Ordinal);
                CopyTable(table, dictionary);
                return dictionary;
            case TomlArray array:
                var list = new List<object?>(array.Count);
                foreach (var item in array)
                {
                    list.Add(ToPlain(item));
                }

                return list;
            case TomlTableArray tables:
                var tableList = new List<object?>(tables.Count);
                foreach (var item in tables)
                {
                    tableList.Add(ToPlain(item));
                }

                return tableList;
            default:
                return value;
        }
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
