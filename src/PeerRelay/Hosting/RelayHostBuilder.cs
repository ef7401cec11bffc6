using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using PeerRelay.Configuration;
using PeerRelay.Logging;
using PeerRelay.Server;
using PeerRelay.Server.Hosting;
using PeerRelay.Server.Prometheus;
using PeerRelay.Server.Redis;
using PeerRelay.Transport;

namespace PeerRelay.Hosting;

/// <summary>
/// Builds the relay's <see cref="WebApplication"/> from a resolved <see cref="RelayConfig"/>: Kestrel on
/// <c>host:port</c> (TLS when <c>certfile</c> is set), logging, the relay and its authenticator, graceful shutdown.
/// <c>peerrelay serve</c> runs it; tests start it in-process the same way.
/// </summary>
internal static partial class RelayHostBuilder
{
    /// <summary>The runtime's switch that runs socket completions on the event thread (docs/performance.md).</summary>
    internal const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Makes the runtime run socket completions on its event threads (with <see cref="RelayConfig.InlineIo"/>). The
    /// runtime reads the switch once, when the process's first socket is created, so only a process whose sockets are
    /// all the relay's calls this (<c>peerrelay serve</c>); an explicit setting in the environment wins.
    /// </summary>
    public static void UseInlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
    }

    /// <summary>Time the host gives its services to stop on top of <c>close_timeout</c>.</summary>
    private static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(3);

    /// <summary>Builds the application; start it with <c>StartAsync</c> or <c>RunAsync</c>.</summary>
    /// <param name="config">The resolved configuration.</param>
    /// <param name="configure">Changes the builder before it is built (tests use it, e.g. to add a logger).</param>
    /// <returns>The application, not yet started.</returns>
    /// <exception cref="RelayConfigException">The certificate, log directory, host or auth method cannot be used.</exception>
    public static WebApplication Build(RelayConfig config, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        // What the file names (certificate, host, log directory) is checked all at once, so every problem is in one run.
        var problems = new List<string>();
        var tls = Check(problems, () => config.CertFile is { } certFile ? TlsCertificateLoader.Load(certFile, config.KeyFile) : null);
        var addresses = Check(problems, () => ResolveHost(config.Host, config.Port));
        Check(problems, () => config.Logging.LogDir is { } logDir && EnsureLogDirectory(logDir));
        if (problems.Count > 0)
        {
            throw new RelayConfigException(problems, []);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = "peerrelay",

            // Not the working directory: an appsettings.json lying there must not change the relay.
            ContentRootPath = AppContext.BaseDirectory,
        });

        RelayLogging.Configure(builder.Logging, config.Logging);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = config.Server.CloseTimeout + ShutdownMargin);
        if (config.SocketTransport != SocketTransportKind.Kestrel)
        {
            // Each connection reads and writes its socket directly: no pipes, pumps or buffers while idle.
            void Configure(RelaySocketTransportOptions sockets)
            {
                sockets.Backlog = config.ListenBacklog;

                // The rest of one message over the limit is still discarded so its sender reads the close frame;
                // a client flooding past that is reset.
                sockets.CloseLingerMaxBytes = (int)Math.Min(int.MaxValue, (long)config.Server.TransportMaxMessageBytes + (64 << 10));
            }

            if (config.SocketTransport == SocketTransportKind.Epoll)
            {
                builder.WebHost.UseRelayEpoll(Configure);
            }
            else
            {
                builder.WebHost.UseRelaySockets(Configure);
            }
        }
        else
        {
            // With inline_io Kestrel's pipes complete inline; `peerrelay serve` also runs socket completions inline
            // (UseInlineSocketCompletions).
            builder.WebHost.UseSockets(sockets =>
            {
                sockets.Backlog = config.ListenBacklog;
                sockets.UnsafePreferInlineScheduling = config.InlineIo;
            });
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            Listen(kestrel, addresses, config, tls);
            ListenOperations(kestrel, addresses, config, tls);
        });

        var relay = builder.Services.AddPeerRelay(options => CopyServerOptions(config.Server, options));
        RelayAuthentication.Configure(relay, config.Auth);
        if (config.Cluster is { } cluster)
        {
            relay.AddRedisScaleOut(options =>
            {
                options.Configuration = cluster.Configuration;
                options.NodeId = cluster.NodeId;
                options.HeartbeatInterval = cluster.HeartbeatInterval;
                options.NodeTimeout = cluster.NodeTimeout;
                options.KeyPrefix = cluster.KeyPrefix;
                options.CaFile = cluster.CaFile;
            });
        }

        if (config.Metrics)
        {
            relay.AddPrometheusMetrics();
        }

        var admin = config.AdminToken is not null || config.AdminPort is not null;
        if (admin)
        {
            relay.AddAdmin(o =>
            {
                o.Token = config.AdminToken;
                o.LoopbackPort = config.AdminPort;
            });
        }

        configure?.Invoke(builder);

        var app = builder.Build();
        OperationsPorts.Use(app, config);
        app.UseWebSockets();
        app.MapPeerRelay();
        if (config.Metrics)
        {
            app.MapPeerRelayMetrics();
        }

        if (admin)
        {
            app.MapPeerRelayAdmin();
        }

        var startupLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(RelayLogging.StartupCategory);
        foreach (var warning in config.Warnings)
        {
            Log.ConfigurationWarning(startupLogger, warning);
        }

        app.Lifetime.ApplicationStarted.Register(() =>
            Log.Listening(startupLogger, FormatListeningUri(config, GetBoundPort(app) ?? config.Port)));
        return app;
    }

    /// <summary>Gets the address clients connect to once <paramref name="app"/> has started, e.g. <c>ws://127.0.0.1:8700/</c>.</summary>
    /// <param name="app">A started application built by <see cref="Build"/>.</param>
    /// <param name="config">Its configuration.</param>
    /// <returns>The address, with the port actually bound (useful with port 0).</returns>
    public static Uri GetListeningUri(WebApplication app, RelayConfig config)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(config);
        return new Uri(FormatListeningUri(config, GetBoundPort(app) ?? config.Port) + "/");
    }

    private static string FormatListeningUri(RelayConfig config, int port)
    {
        var host = config.Host ?? "0.0.0.0";
        if (IPAddress.TryParse(host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 && !host.StartsWith('['))
        {
            host = $"[{host}]";
        }

        return string.Create(CultureInfo.InvariantCulture, $"{(config.UsesTls ? "wss" : "ws")}://{host}:{port}");
    }

    private static int? GetBoundPort(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is null)
        {
            return null;
        }

        foreach (var address in addresses)
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Port > 0)
            {
                return uri.Port;
            }
        }

        return null;
    }

    private static IPAddress[]? ResolveHost(string? host, int port)
    {
        if (host is null)
        {
            return null;
        }

        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            return [literal];
        }

        IPAddress[] resolved;
        try
        {
            resolved = Dns.GetHostAddresses(host);
        }
        catch (SocketException ex)
        {
            throw new RelayConfigException($"host: \"{host}\" cannot be resolved ({ex.Message}); use an IP address or a resolvable host name");
        }

        if (resolved.Length == 0)
        {
            throw new RelayConfigException($"host: \"{host}\" resolves to no address; use an IP address or a resolvable host name");
        }

        // Port 0 asks for a free port: several addresses would each get a different one, so keep the first.
        return port == 0 ? [resolved[0]] : resolved.Distinct().ToArray();
    }

    private static void Listen(KestrelServerOptions kestrel, IPAddress[]? addresses, RelayConfig config, TlsCertificate? tls)
    {
        var port = config.Port;
        void Configure(ListenOptions listen)
        {
            UseTls(listen, tls);

            // WebSocket upgrades are served straight from the connection; everything else goes on to HTTP/1.
            listen.UsePeerRelay();
            if (tls is null && config.SocketTransport == SocketTransportKind.Epoll)
            {
                // Plain ws: served on the epoll transport's event loop, without Kestrel's per-connection dispatch.
                listen.UseEventLoop(b => b.UsePeerRelayOnEventLoop(), config.Server.HandshakeTimeout);
            }
        }

        if (addresses is null)
        {
            // Every interface, IPv6 and IPv4 (Kestrel falls back to IPv4 only where IPv6 is off), as the reference's
            // default host (None).
            kestrel.ListenAnyIP(port, Configure);
            return;
        }

        foreach (var address in addresses)
        {
            kestrel.Listen(address, port, Configure);
        }
    }

    private static T? Check<T>(List<string> problems, Func<T?> check)
    {
        try
        {
            return check();
        }
        catch (RelayConfigException ex)
        {
            problems.AddRange(ex.Problems);
            return default;
        }
    }

    /// <summary>
    /// Listens on <c>metrics_port</c> (the relay's interfaces, plain HTTP/1 without the relay's connection middleware) and
    /// <c>admin_port</c> (loopback only), when set.
    /// </summary>
    private static void ListenOperations(KestrelServerOptions kestrel, IPAddress[]? addresses, RelayConfig config, TlsCertificate? tls)
    {
        if (config.MetricsPort is { } metricsPort)
        {
            if (addresses is null)
            {
                kestrel.ListenAnyIP(metricsPort, listen => UseTls(listen, tls));
            }
            else
            {
                foreach (var address in addresses)
                {
                    kestrel.Listen(address, metricsPort, listen => UseTls(listen, tls));
                }
            }
        }

        if (config.AdminPort is { } adminPort)
        {
            // Loopback only: whoever reaches it is on the machine, so it needs no token (docs/operations.md).
            kestrel.Listen(IPAddress.Loopback, adminPort);
            if (Socket.OSSupportsIPv6)
            {
                kestrel.Listen(IPAddress.IPv6Loopback, adminPort);
            }
        }
    }

    private static void UseTls(ListenOptions listen, TlsCertificate? tls)
    {
        if (tls is not null)
        {
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = tls.Certificate,
                ServerCertificateChain = tls.Chain,
            });
        }
    }

    private static bool EnsureLogDirectory(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, WeeklyLogFile.NameFor(DateTimeOffset.UtcNow));
            using var stream = new FileStream(probe, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new RelayConfigException($"log_dir: cannot write log files in \"{directory}\": {ex.Message}");
        }
    }

    private static void CopyServerOptions(RelayServerOptions source, RelayServerOptions target)
    {
        target.MaxMessageBytes = source.MaxMessageBytes;
        target.TransportMaxMessageBytes = source.TransportMaxMessageBytes;
        target.KeepAliveInterval = source.KeepAliveInterval;
        target.KeepAliveTimeout = source.KeepAliveTimeout;
        target.SendQueueCapacity = source.SendQueueCapacity;
        target.CloseTimeout = source.CloseTimeout;
        target.SlowReaderTimeout = source.SlowReaderTimeout;
        target.ConnectedClientLogInterval = source.ConnectedClientLogInterval;
        target.ConnectedClientLogLimit = source.ConnectedClientLogLimit;
        foreach (var origin in source.AllowedOrigins)
        {
            target.AllowedOrigins.Add(origin);
        }

        // Limits (issue 7).
        target.MaxConnections = source.MaxConnections;
        target.MaxConnectionsPerIp = source.MaxConnectionsPerIp;
        foreach (var proxy in source.TrustedProxies)
        {
            target.TrustedProxies.Add(proxy);
        }

        target.NewConnectionRate = source.NewConnectionRate;
        target.NewConnectionBurst = source.NewConnectionBurst;
        target.AbusePenalty = source.AbusePenalty;
        target.MaxClientsPerUser = source.MaxClientsPerUser;
        target.RegistrationTimeout = source.RegistrationTimeout;
        target.HandshakeTimeout = source.HandshakeTimeout;
        target.MessageRate = source.MessageRate;
        target.MessageBurst = source.MessageBurst;
        target.MessageRateSustained = source.MessageRateSustained;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "PeerRelay listening on {Address}")]
        public static partial void Listening(ILogger logger, string address);

        [LoggerMessage(2, LogLevel.Warning, "{Warning}")]
        public static partial void ConfigurationWarning(ILogger logger, string warning);
    }
}
