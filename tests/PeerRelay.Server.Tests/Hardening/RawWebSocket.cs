using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>
/// A WebSocket client written on a bare TCP socket, so tests can send what no well-behaved client library sends:
/// half a frame, a message split into one-byte fragments, a frame written one byte per TCP segment, bad opcodes.
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

    public static async Task<RawWebSocket> ConnectAsync(int port, CancellationToken cancellationToken = default)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        var socket = new RawWebSocket(tcp);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = $"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await socket._stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
        var head = await socket.ReadHeadersAsync(cancellationToken);
        if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            tcp.Dispose();
            throw new InvalidOperationException("Upgrade refused: " + head);
        }

        return socket;
    }

    /// <summary>Builds one masked client frame.</summary>
    public static byte[] Frame(byte opcode, ReadOnlySpan<byte> payload, bool fin = true, byte rsv = 0, Random? random = null)
    {
        var header = payload.Length < 126 ? 2 : payload.Length <= ushort.MaxValue ? 4 : 10;
        var frame = new byte[header + 4 + payload.Length];
        frame[0] = (byte)((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xF));
        if (header == 2)
        {
            frame[1] = (byte)(0x80 | payload.Length);
        }
        else if (header == 4)
        {
            frame[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
        }
        else
        {
            frame[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
        }

        var mask = frame.AsSpan(header, 4);
        if (random is null)
        {
            RandomNumberGenerator.Fill(mask);
        }
        else
        {
            random.NextBytes(mask);
        }

        for (var i = 0; i < payload.Length; i++)
        {
            frame[header + 4 + i] = (byte)(payload[i] ^ mask[i & 3]);
        }

        return frame;
    }

    public static byte[] TextFrame(string text) => Frame(Text, Encoding.UTF8.GetBytes(text));

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

    /// <summary>Reads one server frame: its opcode and payload; null at the end of the stream.</summary>
    public async Task<(byte Opcode, bool Fin, byte[] Payload)?> ReadFrameAsync(CancellationToken cancellationToken = default)
    {
        if (!await FillAsync(2, cancellationToken))
        {
            return null;
        }

        var fin = (_pending[0] & 0x80) != 0;
        var opcode = (byte)(_pending[0] & 0xF);
        long length = _pending[1] & 0x7F;
        var header = 2;
        if (length == 126)
        {
            header = 4;
            if (!await FillAsync(header, cancellationToken))
            {
                return null;
            }

            length = BinaryPrimitives.ReadUInt16BigEndian(_pending.AsSpan(2));
        }
        else if (length == 127)
        {
            header = 10;
            if (!await FillAsync(header, cancellationToken))
            {
                return null;
            }

            length = (long)BinaryPrimitives.ReadUInt64BigEndian(_pending.AsSpan(2));
        }

        var total = header + (int)length;
        if (total > _pending.Length)
        {
            throw new InvalidOperationException($"Server frame of {length} bytes is larger than this test client reads.");
        }

        if (!await FillAsync(total, cancellationToken))
        {
            return null;
        }

        var payload = _pending.AsSpan(header, (int)length).ToArray();
        _pending.AsSpan(total, _pendingCount - total).CopyTo(_pending);
        _pendingCount -= total;
        return (opcode, fin, payload);
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

    private async Task<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
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

    private async Task<string> ReadHeadersAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var end = _pending.AsSpan(0, _pendingCount).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var head = Encoding.ASCII.GetString(_pending, 0, end);
                var consumed = end + 4;
                _pending.AsSpan(consumed, _pendingCount - consumed).CopyTo(_pending);
                _pendingCount -= consumed;
                return head;
            }

            var n = await _stream.ReadAsync(_pending.AsMemory(_pendingCount), cancellationToken);
            if (n == 0)
            {
                return Encoding.ASCII.GetString(_pending, 0, _pendingCount);
            }

            _pendingCount += n;
        }
    }
}
