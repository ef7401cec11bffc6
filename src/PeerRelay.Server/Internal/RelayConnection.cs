using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;

namespace PeerRelay.Server.Internal;

/// <summary>
/// One client's WebSocket. Exactly one receive loop reads it and exactly one send loop writes it; everything
/// else talks to the connection through <see cref="TrySend"/> and <see cref="Close"/>, which never block.
/// </summary>
/// <remarks>Owns its cancellation source and socket and disposes them when <see cref="RunAsync"/> ends.</remarks>
#pragma warning disable CA1001 // Disposed at the end of RunAsync, which every connection runs exactly once.
internal sealed partial class RelayConnection
#pragma warning restore CA1001
{
    private const int InitialReceiveBuffer = 4096;

    /// <summary>1006: the connection ended without a close frame. Never sent; recorded for logs and metrics.</summary>
    private const int AbnormalClosure = 1006;
    private static long s_nextId;

    private readonly WebSocket _socket;
    private readonly Channel<OutboundMessage> _queue;
    private readonly RelayRouter _router;
    private readonly RelayServerOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _abort = new();
    private volatile Registration? _registration;
    private int _closeRequested;
    private int _closeCode;
    private string _closeReason = string.Empty;
    private volatile bool _dropQueued;

    public RelayConnection(WebSocket socket, RelayHandshake handshake, string remote, RelayRouter router, RelayServerOptions options, ILogger logger)
    {
        _socket = socket;
        Handshake = handshake;
        Remote = remote;
        _router = router;
        _options = options;
        _logger = logger;
        Id = Interlocked.Increment(ref s_nextId);
        _queue = Channel.CreateBounded<OutboundMessage>(new BoundedChannelOptions(options.SendQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; nothing ever waits.
        });
    }

    public long Id { get; }

    /// <summary>Gets when the connection opened, a <see cref="System.Diagnostics.Stopwatch"/> timestamp (registration deadline).</summary>
    public long OpenedTimestamp { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>The connection's message token bucket; only the receive loop uses it (see <see cref="RelayLimits"/>).</summary>
#pragma warning disable SA1401, CA1051 // A mutable struct updated in place: a property would copy it.
    internal MessageRateLimiter MessageRate;
#pragma warning restore SA1401, CA1051

    public RelayHandshake Handshake { get; }

    /// <summary>Gets the client's address and port, for logs.</summary>
    public string Remote { get; }

    /// <summary>Gets or sets what this connection registered as. Written only under the registry's lock.</summary>
    public Registration? Registration
    {
        get => _registration;
        set => _registration = value;
    }

    /// <summary>Gets a value indicating whether a close has been requested; messages read after it are ignored.</summary>
    public bool IsClosing => Volatile.Read(ref _closeRequested) != 0;

    /// <summary>Gets the token cancelled when the connection is aborted.</summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>The encoder buffer of the receive loop; only the receive loop uses it.</summary>
    public PooledBufferWriter Writer { get; } = new();

    /// <summary>Queues an encoded message. Takes ownership of its buffer in every case.</summary>
    public SendResult TrySend(OutboundMessage message)
    {
        if (_queue.Writer.TryWrite(message))
        {
            return SendResult.Queued;
        }

        message.Return();
        return IsClosing ? SendResult.Closed : SendResult.QueueFull;
    }

    /// <summary>
    /// Starts closing with <paramref name="code"/> and <paramref name="reason"/>. Messages already queued are sent
    /// first unless <paramref name="dropQueued"/>. The whole close is bounded by the close timeout, then the
    /// socket is aborted. Idempotent: the first call wins.
    /// </summary>
    public void Close(int code, string reason, bool dropQueued = false)
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) != 0)
        {
            return;
        }

        _closeCode = code;
        _closeReason = RelayCloseCodes.FitReason(reason);
        _dropQueued = dropQueued;
        _queue.Writer.TryComplete();
        try
        {
            _abort.CancelAfter(_options.CloseTimeout);
        }
        catch (ObjectDisposedException)
        {
            // Already finished.
        }
    }

    /// <summary>Runs both loops until the connection ends, then releases everything it holds.</summary>
    public async Task RunAsync()
    {
        var sendLoop = SendLoopAsync();
        try
        {
            await ReceiveLoopAsync();
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The peer vanished, the keep-alive gave up, or the close timed out.
            Log.ConnectionLost(_logger, Id, Remote, ex.Message);
            Abort();
        }
        catch (Exception ex)
        {
            Log.ReceiveLoopFailed(_logger, ex, Id, Remote);
            Close(RelayCloseCodes.InternalError, "Internal server error.", dropQueued: true);
        }
        finally
        {
            await sendLoop;
            DropQueued();
            _router.OnClosed(this, _closeCode == 0 ? AbnormalClosure : _closeCode);
            _abort.Dispose();
            _socket.Dispose();
        }
    }

    private void Abort()
    {
        Close(AbnormalClosure, string.Empty, dropQueued: true);
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Abort();
    }

    private async Task ReceiveLoopAsync()
    {
        var app = _options.MaxMessageBytes ?? int.MaxValue;
        var transport = _options.TransportMaxMessageBytes;
        var limit = Math.Min(app, transport);
        var (tooBigCode, tooBigReason) = app <= transport
            ? (RelayCloseCodes.MessageTooLarge, RelayCloseCodes.MessageTooLargeReason)
            : (RelayCloseCodes.MessageTooBig, "Message too big.");
        var token = _abort.Token;

        while (true)
        {
            // Wait for the next frame without holding a buffer, so an idle client costs no receive buffer.
            var first = await _socket.ReceiveAsync(Memory<byte>.Empty, token);
            if (first.MessageType == WebSocketMessageType.Close)
            {
                OnClientClose();
                return;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialReceiveBuffer, limit + 1));
            try
            {
                var count = 0;
                var result = first;
                while (!result.EndOfMessage)
                {
                    if (count == buffer.Length)
                    {
                        buffer = Grow(buffer, count, limit + 1);
                    }

                    var capacity = Math.Min(buffer.Length, limit + 1);
                    result = await _socket.ReceiveAsync(buffer.AsMemory(count, capacity - count), token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        OnClientClose();
                        return;
                    }

                    count += result.Count;
                    if (count > limit)
                    {
                        _router.OnMessageTooLarge(this, count, limit, tooBigCode);
                        Close(tooBigCode, tooBigReason);
                        break;
                    }
                }

                if (IsClosing)
                {
                    // Closing: read on until the client answers the close, but act on nothing.
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    _router.OnBinaryMessage(this);
                    Close(RelayCloseCodes.UnknownMessage, RelayCloseCodes.UnknownMessageReason);
                    continue;
                }

                await _router.HandleAsync(this, buffer, count);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static byte[] Grow(byte[] buffer, int count, int max)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, max));
        buffer.AsSpan(0, count).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }

    private void OnClientClose()
    {
        // Answer the client's close with its own code (RFC 6455, 5.5.1) after what is queued is sent.
        var status = _socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure;
        var code = status == WebSocketCloseStatus.Empty ? (int)WebSocketCloseStatus.NormalClosure : (int)status;
        Close(code, _socket.CloseStatusDescription ?? string.Empty);
    }

    private async Task SendLoopAsync()
    {
        var reader = _queue.Reader;
        var token = _abort.Token;
        try
        {
            while (await reader.WaitToReadAsync(token))
            {
                while (!_dropQueued && reader.TryRead(out var message))
                {
                    try
                    {
                        await _socket.SendAsync(message.Memory, WebSocketMessageType.Text, endOfMessage: true, token);
                    }
                    finally
                    {
                        message.Return();
                    }
                }

                if (_dropQueued)
                {
                    // What is left is counted and logged once by DropQueued when the connection ends.
                    break;
                }
            }

            if (_closeCode != AbnormalClosure
                && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync((WebSocketCloseStatus)_closeCode, _closeReason, token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.SendFailed(_logger, Id, Remote, ex.Message);
            Abort();
        }
    }

    private void DropQueued()
    {
        var dropped = 0;
        while (_queue.Reader.TryRead(out var message))
        {
            message.Return();
            dropped++;
        }

        if (dropped > 0)
        {
            _router.OnDroppedOnClose(this, dropped);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Debug, "Connection {ConnectionId} from {Remote} lost: {Why}")]
        public static partial void ConnectionLost(ILogger logger, long connectionId, string remote, string why);

        [LoggerMessage(101, LogLevel.Error, "Connection {ConnectionId} from {Remote}: unexpected error while receiving")]
        public static partial void ReceiveLoopFailed(ILogger logger, Exception exception, long connectionId, string remote);

        [LoggerMessage(102, LogLevel.Debug, "Connection {ConnectionId} from {Remote}: sending failed: {Why}")]
        public static partial void SendFailed(ILogger logger, long connectionId, string remote, string why);
    }
}
