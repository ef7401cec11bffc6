using System.Net;
using System.Net.Sockets;

namespace PeerRelay.Transport.Tests;

/// <summary>Two connected TCP sockets on 127.0.0.1: the server side (non-blocking, as the transport runs it) and a plain client.</summary>
internal sealed class SocketPair : IDisposable
{
    private SocketPair(Socket server, Socket client)
    {
        Server = server;
        Client = client;
    }

    public Socket Server { get; }

    public Socket Client { get; }

    public static async Task<SocketPair> ConnectAsync(int? serverSendBuffer = null, int? clientReceiveBuffer = null)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (clientReceiveBuffer is { } receive)
        {
            client.ReceiveBufferSize = receive;
        }

        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await listener.AcceptAsync();
        server.Blocking = false;
        if (serverSendBuffer is { } send)
        {
            server.SendBufferSize = send;
        }

        return new SocketPair(server, client);
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes on the client.</summary>
    public async Task<byte[]> ClientReceiveAsync(int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await Client.ReceiveAsync(buffer.AsMemory(read));
            if (n == 0)
            {
                throw new EndOfStreamException($"The server closed after {read} of {count} bytes.");
            }

            read += n;
        }

        return buffer;
    }

    public void Dispose()
    {
        Server.Dispose();
        Client.Dispose();
    }
}
