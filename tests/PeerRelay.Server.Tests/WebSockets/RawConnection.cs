using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>
/// One TCP connection written and read byte by byte: HTTP/1.1 requests and responses, then WebSocket frames, so a test
/// can put several requests on the same connection and see exactly what the server answered.
/// </summary>
internal sealed class RawConnection : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _pending = new byte[64 * 1024];
    private int _pendingCount;

    private RawConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawConnection> ConnectAsync(int port, CancellationToken cancellationToken = default)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new RawConnection(tcp);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    public Task WriteAsync(string ascii, CancellationToken cancellationToken = default) =>
        WriteAsync(Encoding.ASCII.GetBytes(ascii), cancellationToken);

    public Task WriteAsync(byte[] bytes, CancellationToken cancellationToken = default) =>
        _stream.WriteAsync(bytes, cancellationToken).AsTask();

    /// <summary>Reads a response head up to and without its blank line; what follows stays unread.</summary>
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

            await FillAsync(_pendingCount + 1, cancellationToken);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken = default)
    {
        await FillAsync(count, cancellationToken);
        var bytes = _pending.AsSpan(0, count).ToArray();
        Consume(count);
        return bytes;
    }

    /// <summary>Reads one server frame: its first byte (FIN, RSV, opcode), whether it is masked, and its payload.</summary>
    public async Task<(byte First, bool Masked, byte[] Payload)> ReadFrameAsync(CancellationToken cancellationToken = default)
    {
        var start = await ReadExactAsync(2, cancellationToken);
        long length = start[1] & 0x7F;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(await ReadExactAsync(2, cancellationToken));
        }
        else if (length == 127)
        {
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(await ReadExactAsync(8, cancellationToken));
        }

        var masked = (start[1] & 0x80) != 0;
        if (masked)
        {
            await ReadExactAsync(4, cancellationToken);
        }

        return (start[0], masked, await ReadExactAsync(checked((int)length), cancellationToken));
    }

    /// <summary>Gets the value of header <paramref name="name"/> in <paramref name="head"/>, or null.</summary>
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

    public void Dispose() => _tcp.Dispose();

    private void Consume(int count)
    {
        _pending.AsSpan(count, _pendingCount - count).CopyTo(_pending);
        _pendingCount -= count;
    }

    private async Task FillAsync(int count, CancellationToken cancellationToken)
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
                throw new EndOfStreamException($"The server closed the connection; {_pendingCount} of {count} bytes were in.");
            }

            _pendingCount += n;
        }
    }
}
