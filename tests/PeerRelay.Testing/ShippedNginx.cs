using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PeerRelay.Testing;

/// <summary>
/// Debian's nginx running the shipped site file <c>deploy/nginx/peerrelay.conf</c> (TLS termination, the WebSocket
/// upgrade, X-Forwarded-For) in front of a relay, in a private prefix: nothing of the machine's nginx is used. The
/// site file is changed only where a test machine differs (the port nginx listens on, the certificate, the relay's
/// port), each change matching the file exactly once. The access log records, per connection, the TLS protocol and
/// whether the session was resumed (<c>reused=r</c>) or set up in a full handshake (<c>reused=.</c>).
/// </summary>
public sealed class ShippedNginx : IAsyncDisposable
{
    /// <summary>Where Debian installs nginx.</summary>
    public const string Executable = "/usr/sbin/nginx";

    private readonly ExternalProcess _process;

    private ShippedNginx(ExternalProcess process, int port, string accessLogPath)
    {
        _process = process;
        Port = port;
        AccessLogPath = accessLogPath;
    }

    /// <summary>Gets the port nginx listens on with TLS, on 127.0.0.1 and ::1.</summary>
    public int Port { get; }

    /// <summary>Gets the access log: one line per request (a WebSocket's when it ends), ending in <c>reused=r</c> or <c>reused=.</c>.</summary>
    public string AccessLogPath { get; }

    /// <summary>Starts nginx in the foreground in front of the relay on <paramref name="relayPort"/> and waits for its worker.</summary>
    /// <param name="directory">Where the configuration and nginx's files go.</param>
    /// <param name="relayPort">The relay's port on 127.0.0.1.</param>
    /// <param name="certificate">The certificate nginx serves.</param>
    /// <returns>The running nginx.</returns>
    /// <exception cref="InvalidOperationException">nginx is not installed, or rejects the configuration.</exception>
    public static async Task<ShippedNginx> StartAsync(TempDirectory directory, int relayPort, TestCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(certificate);
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"nginx is not installed at {Executable}; run scripts/install-test-deps.sh.");
        }

        var site = await File.ReadAllTextAsync(RepositoryPaths.Combine("deploy/nginx/peerrelay.conf"));
        var port = FreeDualStackPort();
        site = ReplaceOnce(site, "listen 443 ssl;", $"listen 127.0.0.1:{port} ssl;");
        site = ReplaceOnce(site, "listen [::]:443 ssl;", $"listen [::1]:{port} ssl;");
        site = ReplaceOnce(site, "/etc/letsencrypt/live/relay.example.org/fullchain.pem", certificate.CertPath);
        site = ReplaceOnce(site, "/etc/letsencrypt/live/relay.example.org/privkey.pem", certificate.KeyPath);
        site = ReplaceOnce(site, "server 127.0.0.1:8700;", string.Create(CultureInfo.InvariantCulture, $"server 127.0.0.1:{relayPort};"));
        var sitePath = directory.WriteFile("peerrelay.conf", site);

        // The main file a Debian nginx.conf would be.
        var prefix = directory.File("nginx");
        Directory.CreateDirectory(Path.Combine(prefix, "logs"));
        var accessLog = Path.Combine(prefix, "logs", "access.log");
        var main = directory.WriteFile("nginx.conf", $$"""
            daemon off;
            worker_processes 1;
            pid {{prefix}}/nginx.pid;
            error_log /dev/stdout notice;
            events { worker_connections 256; }
            http {
                log_format tls '$remote_addr "$request" $status $ssl_protocol reused=$ssl_session_reused';
                access_log {{accessLog}} tls;
                client_body_temp_path {{prefix}}/client_body;
                proxy_temp_path {{prefix}}/proxy;
                fastcgi_temp_path {{prefix}}/fastcgi;
                uwsgi_temp_path {{prefix}}/uwsgi;
                scgi_temp_path {{prefix}}/scgi;
                include {{sitePath}};
            }
            """);

        string[] arguments = ["-p", prefix, "-c", main, "-e", "stderr"];
        await using (var test = ExternalProcess.Start("nginx -t", Executable, ["-t", .. arguments]))
        {
            if (await test.WaitForExitAsync() != 0)
            {
                throw new InvalidOperationException($"nginx -t rejects the shipped site file:\n{test.Output}");
            }
        }

        var process = ExternalProcess.Start("nginx", Executable, arguments);
        try
        {
            await process.WaitForLineAsync(l => l.Contains("start worker process", StringComparison.Ordinal), "nginx to start its worker");
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        return new ShippedNginx(process, port, accessLog);
    }

    /// <summary>Stops nginx.</summary>
    /// <returns>A task that completes when it is gone.</returns>
    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static string ReplaceOnce(string text, string oldValue, string newValue)
    {
        var first = text.IndexOf(oldValue, StringComparison.Ordinal);
        if (first < 0 || text.IndexOf(oldValue, first + 1, StringComparison.Ordinal) >= 0)
        {
            throw new InvalidOperationException($"deploy/nginx/peerrelay.conf should hold \"{oldValue}\" exactly once");
        }

        return text.Replace(oldValue, newValue, StringComparison.Ordinal);
    }

    private static int FreeDualStackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
        socket.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
