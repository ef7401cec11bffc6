using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StackExchange.Redis.Configuration;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>Handles one message of this node's channel; called on the listener's read loop, one message at a time.</summary>
/// <param name="message">The message; valid only during the call.</param>
internal delegate void NodeMessageHandler(ReadOnlySpan<byte> message);

/// <summary>
/// This node's channel, read on a Redis connection of its own: <c>SUBSCRIBE</c> (<c>SSUBSCRIBE</c> on a Redis
/// Cluster), then every message handed to the registry on the read loop itself, from the read buffer, in the order
/// Redis sent it. StackExchange.Redis hands every subscription message to the thread pool (its ChannelMessageQueue
/// continues on a pool thread, a handler runs as a work item of its own), one more thread hand-off and a copy per
/// cross-node message: this avoids both. The connection follows the multiplexer: the server is the one that holds the
/// channel (the master; on a cluster, the master of the channel's slot), with the same TLS, user and password.
/// Lost connections are made again, with a back-off, until the listener is disposed.
/// </summary>
internal sealed partial class NodeChannelListener : IAsyncDisposable
{
    private const int InitialBuffer = 16 * 1024;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly IConnectionMultiplexer _redis;
    private readonly ConfigurationOptions _configuration;
    private readonly string _channel;
    private readonly bool _sharded;
    private readonly NodeMessageHandler _onMessage;
    private readonly Action _onSubscribed;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private volatile bool _subscribed;
    private int _disposed;

    public NodeChannelListener(
        IConnectionMultiplexer redis, ConfigurationOptions configuration, string channel, bool sharded, NodeMessageHandler onMessage, Action onSubscribed, ILogger logger)
    {
        _onSubscribed = onSubscribed;
        _redis = redis;
        _configuration = configuration;
        _channel = channel;
        _sharded = sharded;
        _onMessage = onMessage;
        _logger = logger;
    }

    /// <summary>Gets a value indicating whether Redis confirmed the subscription on the current connection.</summary>
    public bool Subscribed => _subscribed;

    /// <summary>Starts the connect-subscribe-read loop.</summary>
    public void Start() => _loop ??= Task.Run(() => RunAsync(_stopping.Token));

    /// <summary>Stops the loop and closes the connection; idempotent (the registry may be disposed more than once).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(50);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (ServerOfChannel() is { } endpoint)
                {
                    await ListenAsync(endpoint, cancellationToken).ConfigureAwait(false);
                    backoff = TimeSpan.FromMilliseconds(50);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Refused, reset, timed out connecting (OperationCanceledException), TLS, bytes that are not RESP: again.
                Log.ListenFailed(_logger, _channel, ex.Message);
            }
            finally
            {
                _subscribed = false;
            }

            try
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    /// <summary>The server that carries the channel: on a cluster the master of its slot, else the master.</summary>
    private EndPoint? ServerOfChannel()
    {
        IServer? master = null;
        foreach (var server in _redis.GetServers())
        {
            if (server.IsConnected && !server.IsReplica && server.ServerType != ServerType.Sentinel)
            {
                master = server;
                break;
            }
        }

        if (master is null)
        {
            return null; // The multiplexer is not connected to a master (yet): try again after the back-off.
        }

        return _sharded ? master.ClusterConfiguration?.GetBySlot(_redis.HashSlot(_channel))?.EndPoint : master.EndPoint;
    }

    private async Task ListenAsync(EndPoint endpoint, CancellationToken cancellationToken)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(_configuration.ConnectTimeout));
        await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
        var stream = await SecureAsync(new NetworkStream(socket, ownsSocket: false), endpoint, timeout.Token).ConfigureAwait(false);
        await using var disposeStream = stream.ConfigureAwait(false);

        var buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        try
        {
            var handshake = new List<string[]>();
            if (_configuration.Password is { } password)
            {
                handshake.Add(_configuration.User is { } user ? new[] { "AUTH", user, password } : new[] { "AUTH", password });
            }

            handshake.Add(["CLIENT", "SETNAME", (_configuration.ClientName ?? "peerrelay") + "-channel"]);
            handshake.Add([_sharded ? "SSUBSCRIBE" : "SUBSCRIBE", _channel]);
            await stream.WriteAsync(Command(handshake), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

            int start = 0, end = 0;
            while (true)
            {
                while (RespFrame.TryRead(buffer.AsSpan(start, end - start), out var frame, out var consumed))
                {
                    Handle(buffer.AsSpan(start, consumed), frame);
                    start += consumed;
                }

                if (start == end)
                {
                    start = end = 0;
                }
                else if (end == buffer.Length)
                {
                    // A message larger than what is left: move it to the front, or into a larger buffer.
                    var target = start == 0 ? ArrayPool<byte>.Shared.Rent(buffer.Length * 2) : buffer;
                    Buffer.BlockCopy(buffer, start, target, 0, end - start);
                    if (!ReferenceEquals(target, buffer))
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = target;
                    }

                    end -= start;
                    start = 0;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException("Redis closed the connection of this node's channel");
                }

                end += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<Stream> SecureAsync(Stream stream, EndPoint endpoint, CancellationToken cancellationToken)
    {
#pragma warning disable SER009 // TlsOptions: StackExchange.Redis's view of the TLS settings, for transports of one's own.
        var tls = new TlsOptions(_configuration);
        if (!tls.IsEnabled)
        {
            return stream;
        }

        var ssl = new SslStream(stream, leaveInnerStreamOpen: false, tls.CertificateValidationCallback, tls.CertificateSelectionCallback);
        await ssl.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = tls.ResolveHost(endpoint),
                EnabledSslProtocols = tls.SslProtocols ?? System.Security.Authentication.SslProtocols.None,
                CertificateRevocationCheckMode = tls.CheckCertificateRevocation
                    ? System.Security.Cryptography.X509Certificates.X509RevocationMode.Online
                    : System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            },
            cancellationToken).ConfigureAwait(false);
#pragma warning restore SER009
        return ssl;
    }

    /// <summary>One reply or push: a message is handed on; the subscription's confirmation marks it live.</summary>
    private void Handle(ReadOnlySpan<byte> raw, in RespFrame frame)
    {
        if (frame.IsError)
        {
            throw new RedisException("Redis refused on this node's channel: " + Encoding.UTF8.GetString(frame.Element(raw, 0)));
        }

        if (frame.Count < 3)
        {
            return; // +OK of AUTH and CLIENT SETNAME.
        }

        var kind = frame.Element(raw, 0);
        if (kind.SequenceEqual("message"u8) || kind.SequenceEqual("smessage"u8))
        {
            try
            {
                _onMessage(frame.Element(raw, 2));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.HandlerFailed(_logger, ex);
            }
        }
        else if (kind.SequenceEqual("subscribe"u8) || kind.SequenceEqual("ssubscribe"u8))
        {
            _subscribed = true;
            _onSubscribed();
        }
        else if (kind.SequenceEqual("unsubscribe"u8) || kind.SequenceEqual("sunsubscribe"u8))
        {
            // Redis Cluster moved the channel's slot: subscribe again where it is now.
            throw new RedisException("Redis ended the subscription to this node's channel");
        }
    }

    /// <summary>Encodes commands as RESP arrays of bulk strings.</summary>
    private static byte[] Command(List<string[]> commands)
    {
        var builder = new StringBuilder();
        foreach (var command in commands)
        {
            builder.Append('*').Append(command.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
            foreach (var part in command)
            {
                builder.Append('$').Append(Encoding.UTF8.GetByteCount(part).ToString(CultureInfo.InvariantCulture)).Append("\r\n").Append(part).Append("\r\n");
            }
        }

        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    private static partial class Log
    {
        [LoggerMessage(630, LogLevel.Warning, "Lost the subscription to this node's channel {Channel} ({Why}); subscribing again")]
        public static partial void ListenFailed(ILogger logger, string channel, string why);

        [LoggerMessage(631, LogLevel.Error, "A message of this node's channel could not be handled")]
        public static partial void HandlerFailed(ILogger logger, Exception exception);
    }
}
