using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;
using StackExchange.Redis.Configuration;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// One RESP2 connection of this node's own to the Redis server that holds the fleet's keys and channels (all under the
/// <c>{prefix}</c> hash tag: one slot, one master), with the multiplexer's TLS, user and password. Replies are read
/// with blocking reads on the owner's thread (<see cref="ReadFrame"/>): the kernel wakes that thread directly, one
/// wake per batch of replies, where .NET's asynchronous sockets wake their epoll thread and then a pool thread.
/// Writes never block the caller (an event-loop thread of the relay): a non-blocking send, and what the socket does not
/// take now is sent by a pool thread (<see cref="LinkStream"/>). Connecting is synchronous too, on the owner's thread:
/// one asynchronous operation would turn every later blocking read into .NET's emulated one.
/// </summary>
internal sealed partial class RedisLink : IDisposable
{
    private const int InitialBuffer = 16 * 1024;

    private readonly Socket _socket;
    private readonly LinkStream _raw;
    private readonly Stream _stream;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
    private int _start;
    private int _end;
    private int _disposed;

    private RedisLink(Socket socket, LinkStream raw, Stream stream)
    {
        _socket = socket;
        _raw = raw;
        _stream = stream;
    }

    /// <summary>
    /// The server that holds <paramref name="slotKey"/>: on a Redis Cluster the master of its slot, else the master the
    /// multiplexer is connected to (Sentinel resolved); null while the multiplexer knows none (try again later).
    /// </summary>
    public static EndPoint? ServerOf(IConnectionMultiplexer redis, string slotKey, bool cluster)
    {
        IServer? master = null;
        foreach (var server in redis.GetServers())
        {
            if (server.IsConnected && !server.IsReplica && server.ServerType != ServerType.Sentinel)
            {
                master = server;
                break;
            }
        }

        if (master is null)
        {
            return null;
        }

        return cluster ? master.ClusterConfiguration?.GetBySlot(redis.HashSlot(slotKey))?.EndPoint : master.EndPoint;
    }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> (TLS when configured), authenticates and names the connection. Blocks
    /// the calling thread (the owner's own) up to the configured connect timeout.
    /// </summary>
    public static RedisLink Connect(EndPoint endpoint, ConfigurationOptions configuration, string clientName, TimeSpan sendTimeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        RedisLink? link = null;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SendTimeout = (int)Math.Max(1, sendTimeout.TotalMilliseconds); // The overflow's blocking sends (LinkStream).

            // A blocking connect that overruns the timeout, or a stop, is cut by closing the socket under it; the
            // handshake's reads (TLS, AUTH, and the owner's until EndHandshake) are bounded by the same time-out.
            socket.ReceiveTimeout = configuration.ConnectTimeout;
            using var stop = cancellationToken.UnsafeRegister(static state => ((Socket)state!).Dispose(), socket);
            using (var timer = new Timer(static state => ((Socket)state!).Dispose(), socket, configuration.ConnectTimeout, Timeout.Infinite))
            {
                socket.Connect(endpoint);
            }

            var raw = new LinkStream(socket);
            link = new RedisLink(socket, raw, Secure(raw, endpoint, configuration));
            var handshake = new RespBuffer(256);
            var replies = 1;
            if (configuration.Password is { } password)
            {
                handshake.WriteArray(configuration.User is null ? 2 : 3);
                handshake.WriteBulk("AUTH"u8);
                if (configuration.User is { } user)
                {
                    handshake.WriteBulk(user);
                }

                handshake.WriteBulk(password);
                replies++;
            }

            handshake.WriteArray(3);
            handshake.WriteBulk("CLIENT"u8);
            handshake.WriteBulk("SETNAME"u8);
            handshake.WriteBulk(clientName);
            link.Write(handshake.Written);
            handshake.Dispose();
            for (var i = 0; i < replies; i++)
            {
                var raw0 = link.ReadFrame(out var reply);
                if (reply.IsError)
                {
                    // The text of AUTH's refusal names no secret (WRONGPASS, NOAUTH, ...).
                    throw new RedisConnectionException(ConnectionFailureType.AuthenticationFailure, CommandFlags.None, "Redis refused the connection: " + Encoding.UTF8.GetString(reply.Element(raw0, 0)), null, CommandStatus.Sent);
                }
            }

            return link;
        }
        catch
        {
            if (link is not null)
            {
                link.Dispose();
            }
            else
            {
                socket.Dispose();
            }

            throw;
        }
    }

    /// <summary>The owner's handshake is done: from now on reads wait as long as it takes (the owner bounds them).</summary>
    public void EndHandshake() => _socket.ReceiveTimeout = 0;

    /// <summary>Writes <paramref name="bytes"/> (whole commands) in order; never blocks. One writer at a time.</summary>
    public void Write(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

    /// <summary>
    /// Reads the next reply or push, blocking until it is complete. The returned bytes (which <paramref name="frame"/>'s
    /// elements index) are valid until the next call. Throws when the connection ends or the bytes are not RESP2.
    /// </summary>
    public ReadOnlySpan<byte> ReadFrame(out RespFrame frame)
    {
        while (true)
        {
            if (RespFrame.TryRead(_buffer.AsSpan(_start, _end - _start), out frame, out var consumed))
            {
                var raw = _buffer.AsSpan(_start, consumed);
                _start += consumed;
                return raw;
            }

            if (_start == _end)
            {
                _start = _end = 0;
            }
            else if (_end == _buffer.Length)
            {
                // A reply larger than what is left: move it to the front, or into a larger buffer.
                var target = _start == 0 ? ArrayPool<byte>.Shared.Rent(_buffer.Length * 2) : _buffer;
                Buffer.BlockCopy(_buffer, _start, target, 0, _end - _start);
                if (!ReferenceEquals(target, _buffer))
                {
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = target;
                }

                _end -= _start;
                _start = 0;
            }

            var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                throw _raw.Failure ?? new IOException("Redis closed the connection.");
            }

            _end += read;
        }
    }

    /// <summary>Ends the connection: a read blocked on it returns at once. Idempotent; from any thread.</summary>
    public void Close()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes the connection and returns its buffer; only by the owner's thread, after its last read.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Close();
        _stream.Dispose();
        _socket.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private static Stream Secure(LinkStream stream, EndPoint endpoint, ConfigurationOptions configuration)
    {
#pragma warning disable SER009 // TlsOptions: StackExchange.Redis's view of the TLS settings, for transports of one's own.
        var tls = new TlsOptions(configuration);
        if (!tls.IsEnabled)
        {
            return stream;
        }

        var ssl = new SslStream(stream, leaveInnerStreamOpen: false, tls.CertificateValidationCallback, tls.CertificateSelectionCallback);
        ssl.AuthenticateAsClient(
            new SslClientAuthenticationOptions
            {
                TargetHost = tls.ResolveHost(endpoint),
                EnabledSslProtocols = tls.SslProtocols ?? System.Security.Authentication.SslProtocols.None,
                CertificateRevocationCheckMode = tls.CheckCertificateRevocation
                    ? System.Security.Cryptography.X509Certificates.X509RevocationMode.Online
                    : System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            });
#pragma warning restore SER009
        return ssl;
    }
}
