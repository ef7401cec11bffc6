using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PeerRelay.Protocol;

namespace PeerRelay.Client.Internal;

/// <summary>
/// One WebSocket to the relay: open, register, then one receive loop and one send loop until it ends. A new session
/// is made for every attempt; nothing but this class touches its socket.
/// </summary>
internal sealed partial class RelaySession : IDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly RelayClientOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopSending = new();
    private readonly CancellationTokenSource _closeDeadline = new();
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);

    public RelaySession(RelayClientOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
    }

    /// <summary>Opens the WebSocket within <see cref="RelayClientOptions.ConnectTimeout"/>.</summary>
    public async Task ConnectAsync(IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        var o = _socket.Options;
        o.KeepAliveInterval = _options.KeepAliveInterval;
        if (_options.KeepAliveInterval > TimeSpan.Zero)
        {
            o.KeepAliveTimeout = _options.KeepAliveTimeout;
        }

        foreach (var (name, value) in headers)
        {
            o.SetRequestHeader(name, value);
        }

        if (_options.AcceptAnyServerCertificate)
        {
            // The user opted in (RelayClientOptions.AcceptAnyServerCertificate): self-signed test relays.
#pragma warning disable CA5359
            o.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }

        _options.ConfigureWebSocket?.Invoke(o);
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await _socket.ConnectAsync(_options.Address!, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Connecting to {_options.Address} took longer than {_options.ConnectTimeout.TotalSeconds:0.###} s.", ex);
        }
        catch (WebSocketException ex) when (ex.InnerException is ArgumentException { ParamName: "stream" })
        {
            // An HTTP/1.0 server (python -m http.server, many embedded ones) answers the upgrade with e.g. 200 and its
            // page; ClientWebSocket checks the 101 only for HTTP/1.1 and then fails to wrap the read-only body stream
            // ("The base stream is not writeable"). That is a server that did not upgrade, and is reported as one.
            throw new WebSocketException(WebSocketError.NotAWebSocket,
                "The server answered the WebSocket upgrade with HTTP/1.0 instead of 101 Switching Protocols", ex);
        }
    }

    /// <summary>Sends the registration and waits for the reply within <see cref="RelayClientOptions.RegistrationTimeout"/>.</summary>
    public async Task RegisterAsync(RelayRegistration registration, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.RegistrationTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await _socket.SendAsync(RelayCodec.EncodeToUtf8Bytes(registration), WebSocketMessageType.Text, true, linked.Token)
                .ConfigureAwait(false);
            var (length, close) = await ReceiveMessageAsync(linked.Token).ConfigureAwait(false);
            if (close is not null)
            {
                throw close;
            }

            if (!RelayCodec.TryDecode(_buffer.AsSpan(0, length), out var frame, out var error))
            {
                throw new RelayProtocolException($"The server answered the registration with something that is not a relay message ({error}).");
            }

            if (frame.MessageType != RelayMessageType.RelayResponse)
            {
                throw new RelayProtocolException(
                    $"The server answered the registration with a {Wire(frame.MessageType)} message instead of a relay_response.");
            }

            if (!frame.Success)
            {
                throw new RelayRejectedException(null, frame.Message.GetString() ?? string.Empty);
            }
        }
        catch (Exception ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested
            && ex is OperationCanceledException or WebSocketException)
        {
            throw new TimeoutException(
                $"The relay did not answer the registration within {_options.RegistrationTimeout.TotalSeconds:0.###} s.", ex);
        }
    }

    /// <summary>
    /// Runs the receive loop and the send loop until the connection ends. Returns why it ended, or
    /// <see langword="null"/> when <paramref name="cancellationToken"/> closed it.
    /// </summary>
    public async Task<Exception?> RunAsync(
        ChannelWriter<PeerConnection> inbound, SendQueue outbound, CancellationToken cancellationToken)
    {
        var sendLoop = SendLoopAsync(outbound);
        Exception? end;
        using (cancellationToken.UnsafeRegister(static s => ((RelaySession)s!).BeginClose(), this))
        {
            try
            {
                end = await ReceiveLoopAsync(inbound, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                end = ex;
            }

            // Stop taking sends, let a send in progress finish, then answer the relay's close (or abort).
            await _stopSending.CancelAsync().ConfigureAwait(false);
            await sendLoop.ConfigureAwait(false);
            await FinishCloseAsync().ConfigureAwait(false);
        }

        return cancellationToken.IsCancellationRequested ? null : end;
    }

    public void Dispose()
    {
        _socket.Abort();
        _socket.Dispose();
        _stopSending.Dispose();
        _closeDeadline.Dispose();
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Wire(RelayMessageType type) => type switch
    {
        RelayMessageType.RelayRegistration => "relay_registration",
        RelayMessageType.RelayResponse => "relay_response",
        _ => "peer_connection",
    };

    private static string CloseName(int code) => code switch
    {
        RelayCloseCodes.Normal => "normal close",
        RelayCloseCodes.GoingAway => "server going away",
        RelayCloseCodes.PolicyViolation => "policy violation",
        RelayCloseCodes.MessageTooBig => "message too big",
        RelayCloseCodes.InternalError => "server error",
        RelayCloseCodes.TryAgainLater => "try again later",
        RelayCloseCodes.UnknownMessage => "unknown message",
        RelayCloseCodes.MessageTooLarge => "message too large",
        _ => "unknown code",
    };

    /// <summary>Turns a close frame from the relay into the error it stands for.</summary>
    private static Exception FromClose(int code, string reason) => code switch
    {
        RelayCloseCodes.Unauthorized or RelayCloseCodes.Forbidden or RelayCloseCodes.DuplicateRegistration =>
            new RelayRejectedException(code, reason),
        _ => new RelayConnectionException(
            $"The relay closed the connection with code {code} ({CloseName(code)}){(reason.Length > 0 ? ": " + reason : string.Empty)}.",
            closeCode: code,
            closeReason: reason),
    };

    private async Task<Exception> ReceiveLoopAsync(ChannelWriter<PeerConnection> inbound, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (length, close) = await ReceiveMessageAsync(CancellationToken.None).ConfigureAwait(false);
            if (close is not null)
            {
                return close;
            }

            var message = Decode(length, out var protocolError);
            if (protocolError is not null)
            {
                await CloseOutputAsync(RelayCloseCodes.UnknownMessage, RelayCloseCodes.UnknownMessageReason).ConfigureAwait(false);
                return protocolError;
            }

            if (message is not null && !inbound.TryWrite(message))
            {
                // Full: stop reading the socket until the application catches up. Nothing is dropped.
                Log.ReceiveQueueFull(_logger, _options.ReceiveQueueCapacity);
                // The client's token ends the wait when it is disposed while the application is not reading.
                await inbound.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Decodes the message in the buffer: a <c>peer_connection</c> for the application, null for a
    /// <c>relay_response</c> (errors are logged), or a protocol error.
    /// </summary>
    private PeerConnection? Decode(int length, out RelayProtocolException? protocolError)
    {
        protocolError = null;
        if (!RelayCodec.TryDecode(_buffer.AsSpan(0, length), out var frame, out var error))
        {
            Log.UndecodableMessage(_logger, error);
            protocolError = new RelayProtocolException($"The relay sent a message the client cannot decode ({error}).");
            return null;
        }

        switch (frame.MessageType)
        {
            case RelayMessageType.PeerConnection:
                return (PeerConnection)frame.ToMessage();
            case RelayMessageType.RelayResponse:
                if (!frame.Success || frame.IsError)
                {
                    Log.ErrorResponse(_logger, frame.Message.GetString() ?? string.Empty);
                }

                return null;
            default:
                Log.UnexpectedMessage(_logger, Wire(frame.MessageType));
                protocolError = new RelayProtocolException($"The relay sent a {Wire(frame.MessageType)} message, which only clients send.");
                return null;
        }
    }

    /// <summary>
    /// Reads one whole message into <see cref="_buffer"/>. Returns its length, or the error a close frame stands for.
    /// A message over <see cref="RelayClientOptions.MaxReceiveMessageBytes"/> closes the socket with 1009.
    /// </summary>
    private async Task<(int Length, Exception? Close)> ReceiveMessageAsync(CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                if (length >= _options.MaxReceiveMessageBytes)
                {
                    await CloseOutputAsync(RelayCloseCodes.MessageTooBig, "Message too big.").ConfigureAwait(false);
                    return (0, new RelayProtocolException(
                        $"The relay sent a message over the client's limit of {_options.MaxReceiveMessageBytes} bytes."));
                }

                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(length * 2, _options.MaxReceiveMessageBytes));
                _buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }

            var result = await _socket.ReceiveAsync(_buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                var code = (int?)_socket.CloseStatus ?? 1005;
                var reason = _socket.CloseStatusDescription ?? string.Empty;
                Log.ClosedByRelay(_logger, code, reason);
                return (0, FromClose(code, reason));
            }

            if (result.MessageType == WebSocketMessageType.Binary)
            {
                await CloseOutputAsync(RelayCloseCodes.UnknownMessage, RelayCloseCodes.UnknownMessageReason).ConfigureAwait(false);
                return (0, new RelayProtocolException("The relay sent a binary frame; relay messages are text frames."));
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                return (length, null);
            }
        }
    }

    private async Task SendLoopAsync(SendQueue outbound)
    {
        var stop = _stopSending.Token;
        try
        {
            while (await outbound.WaitToReadAsync(stop).ConfigureAwait(false))
            {
                while (!stop.IsCancellationRequested && outbound.TryRead(out var item))
                {
                    if (item.IsSettled)
                    {
                        continue; // The sender gave up waiting.
                    }

                    try
                    {
                        await _socket.SendAsync(item.Utf8Json, WebSocketMessageType.Text, true, CancellationToken.None)
                            .ConfigureAwait(false);
                        item.Written();
                    }
                    catch (Exception ex)
                    {
                        // The connection died under the write: the next connection sends this message first.
                        outbound.PutBack(item);
                        Log.SendFailed(_logger, ex.Message);
                        _socket.Abort(); // Ends the receive loop too.
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The session is ending.
        }
    }

    /// <summary>
    /// Called when the client is disposed: start the close handshake. The receive loop ends on the relay's echo, or
    /// when the socket is aborted after <see cref="RelayClientOptions.CloseTimeout"/>.
    /// </summary>
    private void BeginClose()
    {
        try
        {
            _closeDeadline.Token.UnsafeRegister(static s => ((ClientWebSocket)s!).Abort(), _socket);
            _closeDeadline.CancelAfter(_options.CloseTimeout);
        }
        catch (ObjectDisposedException)
        {
            return; // The session already ended.
        }

        _ = CloseOutputAsync(RelayCloseCodes.Normal, string.Empty);
    }

    private async Task CloseOutputAsync(int code, string reason)
    {
        using var timeout = new CancellationTokenSource(_options.CloseTimeout);
        try
        {
            // Stop the send loop first, so that this class stays the only writer and frames are not interleaved.
            await _stopSending.CancelAsync().ConfigureAwait(false);
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token).ConfigureAwait(false);
            }

        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _socket.Abort();
        }
    }

    /// <summary>Answers a close frame the relay sent (bounded by the close timeout), then aborts the socket.</summary>
    public async Task FinishCloseAsync()
    {
        if (_socket.State == WebSocketState.CloseReceived)
        {
            // The relay closed: echo its close so the handshake completes cleanly.
            using var timeout = new CancellationTokenSource(_options.CloseTimeout);
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, string.Empty, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Nothing more to do; the socket is aborted below.
            }
        }

        _socket.Abort();
    }
}
