using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PeerRelay.Server.Hosting;

namespace PeerRelay.Client.Tests;

/// <summary>Servers that are not (good) relays, for the failure paths: real Kestrel on 127.0.0.1.</summary>
internal static class FakeServers
{
    /// <summary>A WebSocket server that answers the first message with <paramref name="reply"/> (or nothing) and then waits.</summary>
    public static Task<WebApplication> StartWebSocketAsync(string? reply) => StartAsync(async context =>
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[4096];
        await socket.ReceiveAsync(buffer, context.RequestAborted);
        if (reply is not null)
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(reply), System.Net.WebSockets.WebSocketMessageType.Text, true, context.RequestAborted);
        }

        try
        {
            await socket.ReceiveAsync(buffer, context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException)
        {
        }
    });

    /// <summary>A plain HTTP server that answers every request with 200 and a page: no WebSocket upgrade.</summary>
    public static Task<WebApplication> StartPlainHttpAsync() => StartAsync(context => context.Response.WriteAsync("<html>hello</html>"));

    /// <summary>
    /// A plain HTTP/1.0 server, as <c>python3 -m http.server</c> is: every request gets <c>HTTP/1.0 200 OK</c>, a page,
    /// and the connection closed. Returns its ws:// address; dispose the listener to stop it.
    /// </summary>
    public static (TcpListener Listener, Uri Uri) StartHttp10()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptSocketAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                using (client)
                {
                    var request = new byte[4096];
                    var received = 0;
                    while (received < request.Length && !Encoding.ASCII.GetString(request, 0, received).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var n = await client.ReceiveAsync(request.AsMemory(received));
                        if (n == 0)
                        {
                            break;
                        }

                        received += n;
                    }

                    await client.SendAsync(Encoding.ASCII.GetBytes(
                        "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nContent-Type: text/html\r\n\r\n<html>hello</html>"));
                    client.Shutdown(SocketShutdown.Both);
                }
            }
        });
        return (listener, new Uri($"ws://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/"));
    }

    public static Uri WebSocketUri(WebApplication app) => new(app.Urls.First().Replace("http://", "ws://", StringComparison.Ordinal) + "/");

    /// <summary>A port on 127.0.0.1 that nothing listens on (bound, read, released).</summary>
    public static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>A real relay behind TLS with a fresh self-signed certificate (for 127.0.0.1); returns it and its wss:// address.</summary>
    public static async Task<(WebApplication App, Uri Uri)> StartTlsRelayAsync()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        builder.Logging.ClearProviders();
        builder.Services.AddPeerRelay();
        var app = builder.Build();
        app.UseWebSockets();
        app.MapPeerRelay();
        await app.StartAsync();
        return (app, new Uri(app.Urls.First().Replace("https://", "wss://", StringComparison.Ordinal) + "/"));
    }

    private static async Task<WebApplication> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(handler);
        await app.StartAsync();
        return app;
    }
}
