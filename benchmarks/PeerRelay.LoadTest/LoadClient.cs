using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace PeerRelay.LoadTest;

/// <summary>
/// One WebSocket client over a raw socket: a hand-written HTTP upgrade (cheaper on the load generator's CPU than
/// <see cref="ClientWebSocket"/>) from a chosen loopback source address, then <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>.
/// For <c>wss://</c> a TLS handshake (<see cref="LoadTls"/>) comes first, over the same socket.
/// </summary>
internal sealed class LoadClient : IAsyncDisposable
{
    /// <summary>The RFC 6455 sample key: the server only echoes its hash, and the load generator does not check it.</summary>
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";
    private const int SolIp = 0;
    private const int IpBindAddressNoPort = 24;

    private readonly WebSocket _socket;

    private LoadClient(WebSocket socket, Socket tcp, string id)
    {
        _socket = socket;
        Tcp = tcp;
        Id = id;
    }

    public string Id { get; }

    /// <summary>Gets the TCP socket under the WebSocket (for its state; reading or writing it directly breaks the framing).</summary>
    public Socket Tcp { get; }

    public WebSocket Socket => _socket;

    public static async Task<LoadClient> ConnectAsync(IPEndPoint server, LoadTls? tls, IPAddress? source, string host, string pathAndQuery, string id, int receiveBufferSize = 0, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (receiveBufferSize > 0)
            {
                // Before connect, so the window the peer sees is small from the start.
                socket.ReceiveBufferSize = receiveBufferSize;
            }

            if (source is not null)
            {
                // Defer the port choice to connect(), so each source address has its own ephemeral port range per destination.
                socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(server, cancellationToken);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (tls is not null)
            {
                stream = await tls.AuthenticateAsync(stream, cancellationToken);
            }

            var request = Encoding.ASCII.GetBytes(
                $"GET {pathAndQuery} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n\r\n");
            await stream.WriteAsync(request, cancellationToken);
            var leftover = await ReadUpgradeResponseAsync(stream, cancellationToken);
            Stream transport = leftover.Length > 0 ? new PrefixedStream(stream, leftover) : stream;
            var ws = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
            return new LoadClient(ws, socket, id);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects and registers <paramref name="id"/>; throws when the server refuses.</summary>
    public static Task<LoadClient> ConnectAndRegisterAsync(LoadContext context, int index, string id, CancellationToken cancellationToken = default) =>
        ConnectAndRegisterAsync(context, context.SourceFor(index), id, 0, cancellationToken);

    /// <summary>Connects the answering end of a forward pair to <see cref="LoadContext.PeerServer"/> and registers it.</summary>
    public static Task<LoadClient> ConnectAndRegisterPeerAsync(LoadContext context, int index, string id, CancellationToken cancellationToken = default) =>
        ConnectAndRegisterAsync(context, context.PeerServer, context.PeerTls, context.PeerHost, context.SourceFor(index), id, 0, cancellationToken);

    /// <summary>Connects from <paramref name="source"/> and registers <paramref name="id"/>; throws when the server refuses.</summary>
    public static Task<LoadClient> ConnectAndRegisterAsync(LoadContext context, IPAddress? source, string id, int receiveBufferSize = 0, CancellationToken cancellationToken = default) =>
        ConnectAndRegisterAsync(context, context.Server, context.Tls, context.Host, source, id, receiveBufferSize, cancellationToken);

    private static async Task<LoadClient> ConnectAndRegisterAsync(LoadContext context, IPEndPoint server, LoadTls? tls, string host, IPAddress? source, string id, int receiveBufferSize, CancellationToken cancellationToken)
    {
        var client = await ConnectAsync(server, tls, source, host, context.Protocol.PathAndQuery(context.BasePath, id), id, receiveBufferSize, cancellationToken);
        try
        {
            var registration = context.Protocol.Registration(id);
            if (registration is not null)
            {
                await client._socket.SendAsync(registration, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }

            var buffer = ArrayPool<byte>.Shared.Rent(1024);
            try
            {
                var count = await client.ReceiveAsync(buffer, cancellationToken);
                if (count < 0 || !context.Protocol.IsRegistered(buffer.AsSpan(0, count)))
                {
                    var text = count < 0 ? $"closed {client._socket.CloseStatus} {client._socket.CloseStatusDescription}" : Encoding.UTF8.GetString(buffer, 0, count);
                    throw new InvalidOperationException($"registration of {id} refused: {text}");
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Receives one whole text message into <paramref name="buffer"/>; returns its length, or -1 on close.</summary>
    public async ValueTask<int> ReceiveAsync(byte[] buffer, CancellationToken cancellationToken = default)
    {
        var count = 0;
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer.AsMemory(count), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return -1;
            }

            count += result.Count;
            if (result.EndOfMessage)
            {
                return count;
            }

            if (count == buffer.Length)
            {
                throw new InvalidOperationException($"message over {buffer.Length} bytes");
            }
        }
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>Closes with the full handshake (bounded), as a well-behaved client would.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
        }
        finally
        {
            _socket.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private static async Task<byte[]> ReadUpgradeResponseAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        var count = 0;
        while (true)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(count), cancellationToken);
            if (n == 0)
            {
                throw new IOException("the server closed the connection during the upgrade");
            }

            count += n;
            var end = buffer.AsSpan(0, count).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                if (!buffer.AsSpan(0, count).StartsWith("HTTP/1.1 101"u8))
                {
                    var line = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, count).IndexOf("\r\n"u8));
                    throw new IOException($"upgrade refused: {line}");
                }

                return buffer.AsSpan(end + 4, count - end - 4).ToArray();
            }

            if (count == buffer.Length)
            {
                throw new IOException("upgrade response too long");
            }
        }
    }
}
