using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace PeerRelay.Testing;

/// <summary>
/// A bare WebSocket client for tests: sends raw text or JSON and reads messages or the close, each with a deadline.
/// Deliberately independent of PeerRelay.Client, so server tests do not trust the code they test.
/// </summary>
public sealed class TestRelayClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly HttpMessageInvoker? _invoker;

    private TestRelayClient(ClientWebSocket socket, HttpMessageInvoker? invoker = null)
    {
        _socket = socket;
        _invoker = invoker;
    }

    public ClientWebSocket Socket => _socket;

    public static async Task<TestRelayClient> ConnectAsync(Uri uri, Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        configure?.Invoke(socket.Options);
        await socket.ConnectAsync(uri, CancellationToken.None).WithTimeout();
        return new TestRelayClient(socket);
    }

    /// <summary>
    /// Connects from <paramref name="localAddress"/> (e.g. 127.0.0.2: every 127.x address is loopback on Linux), so a
    /// test can tell clients apart by address, as a relay behind a proxy must.
    /// </summary>
    /// <param name="uri">The ws:// or wss:// address.</param>
    /// <param name="localAddress">The address the TCP connection comes from.</param>
    /// <param name="validateCertificate">For wss://: accepts the server's certificate, or null for the system's checks.</param>
    /// <param name="headers">Extra handshake headers, or null.</param>
    /// <returns>The connected client.</returns>
    public static async Task<TestRelayClient> ConnectFromAsync(
        Uri uri,
        System.Net.IPAddress localAddress,
        System.Net.Security.RemoteCertificateValidationCallback? validateCertificate = null,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var tcp = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                try
                {
                    tcp.Bind(new System.Net.IPEndPoint(localAddress, 0));
                    await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new System.Net.Sockets.NetworkStream(tcp, ownsSocket: true);
                }
                catch
                {
                    tcp.Dispose();
                    throw;
                }
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = validateCertificate;
        var invoker = new HttpMessageInvoker(handler);
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        socket.Options.HttpVersion = System.Net.HttpVersion.Version11;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            socket.Options.SetRequestHeader(name, value);
        }

        try
        {
            await socket.ConnectAsync(uri, invoker, CancellationToken.None).WithTimeout();
        }
        catch
        {
            socket.Dispose();
            invoker.Dispose();
            throw;
        }

        return new TestRelayClient(socket, invoker);
    }

    public static string Registration(Guid uuid, string name = "test") =>
        $$"""{"name": "{{name}}", "uuid": "{{uuid}}", "message_type": "relay_registration"}""";

    public static string PeerConnection(Guid source, Guid peer, string description = "sdp", string type = "offer", string sourceName = "test") =>
        $$"""{"source_uuid": "{{source}}", "source_name": "{{sourceName}}", "peer_uuid": "{{peer}}", "description_type": "{{type}}", "description": "{{description}}", "error": null, "message_type": "peer_connection"}""";

    public Task SendTextAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();

    public Task SendBytesAsync(byte[] bytes, WebSocketMessageType type = WebSocketMessageType.Text) =>
        _socket.SendAsync(bytes, type, true, CancellationToken.None).WithTimeout();

    /// <summary>Registers and asserts the success response.</summary>
    public async Task RegisterAsync(Guid uuid, string name = "test")
    {
        await SendTextAsync(Registration(uuid, name));
        var response = await ReceiveJsonAsync();
        if (response["message_type"]?.GetValue<string>() != "relay_response" || response["success"]?.GetValue<bool>() != true)
        {
            throw new InvalidOperationException($"Registration failed: {response.ToJsonString()}");
        }
    }

    /// <summary>Reads the next text message; fails if the connection closes instead.</summary>
    public async Task<string> ReceiveTextAsync(TimeSpan? timeout = null)
    {
        var (text, closeStatus, reason) = await ReceiveAsync().WithTimeout(timeout);
        return text ?? throw new InvalidOperationException($"Connection closed with {(int?)closeStatus} ({reason}) instead of a message.");
    }

    public async Task<JsonObject> ReceiveJsonAsync(TimeSpan? timeout = null) =>
        JsonNode.Parse(await ReceiveTextAsync(timeout))!.AsObject();

    /// <summary>Reads until the server closes; returns the close code and reason. Fails if a message arrives first.</summary>
    public async Task<(int Code, string Reason)> ReceiveCloseAsync(TimeSpan? timeout = null)
    {
        var (text, status, reason) = await ReceiveAsync().WithTimeout(timeout);
        if (text is not null)
        {
            throw new InvalidOperationException($"Expected a close, got a message: {text}");
        }

        return ((int)(status ?? 0), reason ?? string.Empty);
    }

    /// <summary>Reads messages, skipping them, until the server closes.</summary>
    public async Task<(int Code, string Reason)> ReceiveUntilCloseAsync(TimeSpan? timeout = null)
    {
        var (_, code, reason) = await CountUntilCloseAsync(timeout);
        return (code, reason);
    }

    /// <summary>Reads and counts messages until the connection closes (answering the close), then returns the count and the close.</summary>
    /// <param name="timeout">How long each read may take.</param>
    /// <returns>The messages read before the close, its code and its reason.</returns>
    public async Task<(int Messages, int Code, string Reason)> CountUntilCloseAsync(TimeSpan? timeout = null)
    {
        var messages = 0;
        while (true)
        {
            var (text, status, reason) = await ReceiveAsync().WithTimeout(timeout);
            if (text is null)
            {
                return (messages, (int)(status ?? 0), reason ?? string.Empty);
            }

            messages++;
        }
    }

    private async Task<(string? Text, WebSocketCloseStatus? Status, string? Reason)> ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            WebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
            }
            catch (WebSocketException) when (_socket.State is WebSocketState.Aborted or WebSocketState.Closed)
            {
                return (null, (WebSocketCloseStatus)1006, "aborted");
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                // Answer the close as real clients (Python websockets, browsers) do.
                if (_socket.State == WebSocketState.CloseReceived)
                {
                    try
                    {
                        await _socket.CloseOutputAsync(result.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }
                    catch (WebSocketException)
                    {
                        // The server may already have dropped the connection; the close it sent is what counts.
                    }
                }

                return (null, result.CloseStatus, result.CloseStatusDescription);
            }

            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (Encoding.UTF8.GetString(message.ToArray()), null, null);
            }
        }
    }

    public async Task CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure)
    {
        if (_socket.State == WebSocketState.Open)
        {
            await _socket.CloseAsync(status, null, CancellationToken.None).WithTimeout();
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        _invoker?.Dispose();
        return ValueTask.CompletedTask;
    }
}
