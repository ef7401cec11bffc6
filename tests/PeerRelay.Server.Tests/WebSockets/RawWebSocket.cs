using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>
/// A WebSocket client written on a bare TCP socket, so tests can send what no well-behaved client library sends:
/// half a frame, a message split into one-byte fragments, a frame written one byte per TCP segment, bad opcodes, and
/// several HTTP requests on one connection before the upgrade. Frames are built by <see cref="ClientFrame"/>.
/// </summary>
internal sealed class RawWebSocket : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _pending = new byte[64 * 1024];
    private int _pendingCount;

    private RawWebSocket(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public const byte Continuation = 0x0, Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA;

    public Socket Socket => _tcp.Client;

    /// <summary>Opens a TCP connection and completes a WebSocket upgrade on it.</summary>
    public static async Task<RawWebSocket> ConnectAsync(int port, CancellationToken cancellationToken = default)
    {
        var socket = await OpenAsync(port, cancellationToken);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        await socket.WriteAsync(
            $"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
            cancellationToken);
        var head = await socket.ReadHeadAsync(cancellationToken);
        if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            socket.Dispose();
            throw new InvalidOperationException("Upgrade refused: " + head);
        }

        return socket;
    }

    /// <summary>Opens a TCP connection only: the test writes the HTTP requests itself.</summary>
    public static async Task<RawWebSocket> OpenAsync(int port, CancellationToken cancellationToken = default)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new RawWebSocket(tcp);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Builds one masked client frame with a random masking key (from <paramref name="random"/> when given).</summary>
    public static byte[] Frame(byte opcode, ReadOnlySpan<byte> payload, bool fin = true, byte rsv = 0, Random? random = null)
    {
        var mask = new byte[4];
        if (random is null)
        {
            RandomNumberGenerator.Fill(mask);
        }
        else
        {
            random.NextBytes(mask);
        }

        return ClientFrame.Build(opcode, payload, fin, rsv: rsv, mask: mask);
    }

    public static byte[] TextFrame(string text) => Frame(Text, Encoding.UTF8.GetBytes(text));

    /// <summary>Gets the value of header <paramref name="name"/> in a response <paramref name="head"/>, or null.</summary>
    public static string? HeaderValue(string head, string name)
    {
        foreach (var line in head.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }

    public Task WriteAsync(string ascii, CancellationToken cancellationToken = default) =>
        SendRawAsync(Encoding.ASCII.GetBytes(ascii), cancellationToken);

    public Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default) =>
        _stream.WriteAsync(bytes, cancellationToken).AsTask();

    /// <summary>Writes <paramref name="bytes"/> in pieces of <paramref name="chunk"/> bytes, one TCP write each.</summary>
    public async Task SendSplitAsync(ReadOnlyMemory<byte> bytes, int chunk, CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < bytes.Length; i += chunk)
        {
            await _stream.WriteAsync(bytes.Slice(i, Math.Min(chunk, bytes.Length - i)), cancellationToken);
            await _stream.FlushAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Reads a response head up to and without its blank line; what follows stays unread. At the end of the stream,
    /// what came.
    /// </summary>
    public async Task<string> ReadHeadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var end = _pending.AsSpan(0, _pendingCount).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var head = Encoding.ASCII.GetString(_pending, 0, end);
                Consume(end + 4);
                return head;
            }

            if (!await FillAsync(_pendingCount + 1, cancellationToken))
            {
                return Encoding.ASCII.GetString(_pending, 0, _pendingCount);
            }
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken = default)
    {
        if (!await FillAsync(count, cancellationToken))
        {
            throw new EndOfStreamException($"The server closed the connection; {_pendingCount} of {count} bytes were in.");
        }

        var bytes = _pending.AsSpan(0, count).ToArray();
        Consume(count);
        return bytes;
    }

    /// <summary>Reads one server frame: its opcode and payload; null at the end of the stream.</summary>
    public async Task<(byte Opcode, bool Fin, byte[] Payload)?> ReadFrameAsync(CancellationToken cancellationToken = default) =>
        await ReadWholeFrameAsync(cancellationToken) is { } frame
            ? ((byte)(frame.First & 0xF), (frame.First & 0x80) != 0, frame.Payload)
            : null;

    /// <summary>
    /// Reads one server frame as sent: its first byte (FIN, RSV, opcode), whether it is masked (a server must not
    /// mask), and its payload; null at the end of the stream.
    /// </summary>
    public async Task<(byte First, bool Masked, byte[] Payload)?> ReadWholeFrameAsync(CancellationToken cancellationToken = default)
    {
        if (!await FillAsync(2, cancellationToken))
        {
            return null;
        }

        var first = _pending[0];
        var masked = (_pending[1] & 0x80) != 0;
        long length = _pending[1] & 0x7F;
        var header = length switch { 126 => 4, 127 => 10, _ => 2 };
        if (!await FillAsync(header, cancellationToken))
        {
            return null;
        }

        length = header switch
        {
            4 => BinaryPrimitives.ReadUInt16BigEndian(_pending.AsSpan(2)),
            10 => (long)BinaryPrimitives.ReadUInt64BigEndian(_pending.AsSpan(2)),
            _ => length,
        };
        header += masked ? 4 : 0;
        var total = header + length;
        if (total > _pending.Length)
        {
            throw new InvalidOperationException($"Server frame of {length} bytes is larger than this test client reads.");
        }

        if (!await FillAsync((int)total, cancellationToken))
        {
            return null;
        }

        var payload = _pending.AsSpan(header, (int)length).ToArray();
        Consume((int)total);
        return (first, masked, payload);
    }

    /// <summary>
    /// Reads until the server closes. Returns the text messages received before, and the close code (1006 when the
    /// connection ended without a close frame). Answers pings.
    /// </summary>
    public async Task<(List<string> Messages, int Code, string Reason)> ReadUntilCloseAsync(CancellationToken cancellationToken = default)
    {
        var messages = new List<string>();
        var text = new List<byte>();
        while (true)
        {
            (byte Opcode, bool Fin, byte[] Payload)? frame;
            try
            {
                frame = await ReadFrameAsync(cancellationToken);
            }
            catch (IOException)
            {
                frame = null;
            }

            if (frame is null)
            {
                return (messages, 1006, string.Empty);
            }

            var (opcode, fin, payload) = frame.Value;
            switch (opcode)
            {
                case Close:
                    var code = payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : 1005;
                    var reason = payload.Length > 2 ? Encoding.UTF8.GetString(payload, 2, payload.Length - 2) : string.Empty;
                    try
                    {
                        await SendRawAsync(Frame(Close, payload.AsSpan(0, Math.Min(2, payload.Length))), cancellationToken);
                    }
                    catch (IOException)
                    {
                    }

                    return (messages, code, reason);
                case Ping:
                    try
                    {
                        await SendRawAsync(Frame(Pong, payload), cancellationToken);
                    }
                    catch (IOException)
                    {
                    }

                    break;
                case Text:
                case Continuation:
                    text.AddRange(payload);
                    if (fin)
                    {
                        messages.Add(Encoding.UTF8.GetString([.. text]));
                        text.Clear();
                    }

                    break;
            }
        }
    }

    /// <summary>Resets the connection (RST), as a killed process does.</summary>
    public void Kill()
    {
        _tcp.Client.LingerState = new LingerOption(true, 0);
        _tcp.Dispose();
    }

    public void Dispose() => _tcp.Dispose();

    private void Consume(int count)
    {
        _pending.AsSpan(count, _pendingCount - count).CopyTo(_pending);
        _pendingCount -= count;
    }

    private async Task<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        if (count > _pending.Length)
        {
            throw new InvalidOperationException($"{count} bytes is more than this test connection buffers.");
        }

        while (_pendingCount < count)
        {
            var n = await _stream.ReadAsync(_pending.AsMemory(_pendingCount), cancellationToken);
            if (n == 0)
            {
                return false;
            }

            _pendingCount += n;
        }

        return true;
    }
}
