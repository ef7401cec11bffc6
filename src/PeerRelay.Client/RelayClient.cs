using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerRelay.Client.Internal;
using PeerRelay.Protocol;

namespace PeerRelay.Client;

/// <summary>
/// A client of a PeerRelay (or ProxyStore) relay. It connects, registers under <see cref="Uuid"/>, and keeps doing so
/// across relay restarts and network failures under its <see cref="IRelayRetryPolicy"/>, until it is disposed, the
/// relay rejects it (<see cref="RelayRejectedException"/>: close 4001, 4002, 4004 or a refused registration), or the
/// policy gives up (<see cref="RelayConnectionException"/>).
/// </summary>
/// <example>
/// <code>
/// await using var client = new RelayClient(new RelayClientOptions { Address = new Uri("wss://relay.example.org/") });
/// await client.ConnectAsync(cancellationToken);
/// await client.SendAsync(peerUuid, "offer", sdp, cancellationToken);
/// await foreach (var message in client.Messages.ReadAllAsync(cancellationToken)) { /* ... */ }
/// </code>
/// </example>
/// <remarks>
/// Thread-safe. One connection loop owns the socket: one receive loop and one send loop per connection.
/// </remarks>
public sealed partial class RelayClient : IAsyncDisposable
{
    private readonly RelayClientOptions _options;
    private readonly IRelayRetryPolicy _retryPolicy;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RelayRegistration _registration;
    private readonly Dictionary<string, string> _headers;
    private readonly Channel<PeerConnection> _inbound;
    private readonly SendQueue _outbound;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource _registered = NewSignal();
    private Task? _loop;
    private RelayClientState _state = RelayClientState.Created;
    private Exception? _closeError;
    private int _disposed;
    private bool _disposing;

    /// <summary>Initializes a client. Nothing happens on the network until <see cref="ConnectAsync"/>.</summary>
    /// <param name="options">The settings; read once, here.</param>
    /// <exception cref="ArgumentException">A setting is wrong, e.g. the address is not <c>ws://</c> or <c>wss://</c>.</exception>
    public RelayClient(RelayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _retryPolicy = options.RetryPolicy;
        _time = options.TimeProvider;
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RelayClient>();
        _registration = new RelayRegistration(options.Name, options.Uuid);
        _headers = new Dictionary<string, string>(options.Headers, StringComparer.OrdinalIgnoreCase);
        Address = options.Address!;
        _inbound = Channel.CreateBounded<PeerConnection>(new BoundedChannelOptions(options.ReceiveQueueCapacity)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _outbound = new SendQueue(options.SendQueueCapacity);
    }

    /// <summary>
    /// Raised on every change of <see cref="State"/>, after <see cref="State"/> shows it and before any task the change
    /// completes (<see cref="ConnectAsync"/>, a failed send, <see cref="Messages"/>) returns. Handlers run on the client's
    /// connection loop: keep them short and do not block; an exception from a handler is logged and otherwise ignored.
    /// </summary>
    public event EventHandler<RelayClientStateChangedEventArgs>? StateChanged;

    /// <summary>Gets the relay's address.</summary>
    public Uri Address { get; }

    /// <summary>Gets the UUID this client registers as.</summary>
    public Guid Uuid => _registration.Uuid;

    /// <summary>Gets the name this client registers with.</summary>
    public string Name => _registration.Name;

    /// <summary>Gets the current state.</summary>
    public RelayClientState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>
    /// Gets the <c>peer_connection</c> messages the relay delivers to this client, in order, across reconnects. A
    /// message the relay could not deliver comes back here with <see cref="PeerConnection.Error"/> set. Completes when
    /// the client closes: without error when disposed, with the <see cref="RelayRejectedException"/> or
    /// <see cref="RelayConnectionException"/> that ended it otherwise. Use <c>Messages.ReadAllAsync()</c> for an
    /// <see cref="IAsyncEnumerable{T}"/>.
    /// </summary>
    public ChannelReader<PeerConnection> Messages => _inbound.Reader;

    /// <summary>
    /// Starts the client (on the first call) and waits until it is registered with the relay. Failures the policy
    /// retries are retried while this waits; <see cref="StateChanged"/> reports them.
    /// </summary>
    /// <param name="cancellationToken">Stops the wait; the client goes on connecting in the background until disposed.</param>
    /// <returns>A task that completes when the client is registered.</returns>
    /// <exception cref="RelayRejectedException">The relay rejected the client (4001, 4002, 4004, or <c>success: false</c>).</exception>
    /// <exception cref="RelayConnectionException">The retry policy gave up; the inner exception is the last failure.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        Task registered;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0 && _closeError is null, this);
            if (_loop is null)
            {
                _loop = Task.Run(RunAsync, CancellationToken.None);
            }

            registered = _registered.Task;
        }

        return registered.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Sends a <c>peer_connection</c> to another peer through the relay. Waits, if needed, until the client is
    /// registered (across reconnects), then until the message is written to the socket. If the connection dies
    /// while the message is being written, it is written again on the next connection (so in rare cases it may
    /// arrive twice).
    /// </summary>
    /// <param name="message">The message; the relay stamps <c>source_uuid</c> and <c>source_name</c> with this client's registration.</param>
    /// <param name="cancellationToken">Bounds the wait. A message not yet written when it fires is not sent.</param>
    /// <returns>A task that completes when the message was written to a registered connection.</returns>
    /// <exception cref="InvalidOperationException"><see cref="ConnectAsync"/> has not been called.</exception>
    /// <exception cref="RelayRejectedException">The client was closed because the relay rejected it.</exception>
    /// <exception cref="RelayConnectionException">The client was closed because its retry policy gave up.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async Task SendAsync(PeerConnection message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (Volatile.Read(ref _loop) is null)
        {
            throw new InvalidOperationException("Call ConnectAsync before SendAsync.");
        }

        var pending = new PendingSend(RelayCodec.EncodeToUtf8Bytes(message));
        try
        {
            await _outbound.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw ClosedError();
        }

        using (cancellationToken.UnsafeRegister(static (s, t) => ((PendingSend)s!).Cancel(t), pending))
        {
            await pending.Completion.ConfigureAwait(false);
        }
    }

    /// <summary>Sends a session description to <paramref name="peerUuid"/>; see <see cref="SendAsync(PeerConnection, CancellationToken)"/>.</summary>
    /// <param name="peerUuid">The UUID the other peer registered as.</param>
    /// <param name="descriptionType">The kind of description: <c>offer</c>, <c>answer</c>, or e.g. <c>candidate</c>.</param>
    /// <param name="description">The description (typically a JSON string holding the SDP).</param>
    /// <param name="cancellationToken">Bounds the wait.</param>
    /// <returns>A task that completes when the message was written to a registered connection.</returns>
    public Task SendAsync(Guid peerUuid, string descriptionType, string description, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(descriptionType);
        ArgumentNullException.ThrowIfNull(description);
        return SendAsync(new PeerConnection(Uuid, Name, peerUuid, descriptionType, description), cancellationToken);
    }

    /// <summary>
    /// Closes the connection (close code 1000, bounded by <see cref="RelayClientOptions.CloseTimeout"/>) and stops the
    /// client. Unsent messages fail with <see cref="ObjectDisposedException"/>; <see cref="Messages"/> completes.
    /// Safe to call more than once and concurrently.
    /// </summary>
    /// <returns>A task that completes when the client has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        Task? loop;
        bool first;
        lock (_lock)
        {
            first = !_disposing;
            _disposing = true;
            _disposed = 1;
            loop = _loop;
            _loop ??= Task.CompletedTask;
        }

        if (first)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }
        else
        {
            Finish(null);
        }

        if (first)
        {
            _stopping.Dispose();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Exception ClosedError() => _closeError ?? new ObjectDisposedException(nameof(RelayClient));

    private async Task RunAsync()
    {
        var stop = _stopping.Token;
        long retries = 0;
        var outageStart = _time.GetTimestamp();
        Exception? final = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                Exception? error;
                SetState(RelayClientState.Connecting, null, null, retries);
                Log.Connecting(_logger, Address, Uuid);
                var session = new RelaySession(_options, _logger);
                try
                {
                    var headers = await GetHeadersAsync(stop).ConfigureAwait(false);
                    await session.ConnectAsync(headers, stop).ConfigureAwait(false);
                    SetState(RelayClientState.Registering, null, null, retries);
                    await session.RegisterAsync(_registration, stop).ConfigureAwait(false);
                    retries = 0;
                    Log.Registered(_logger, Address, Uuid);
                    SetState(RelayClientState.Registered, null, null, 0);
                    error = await session.RunAsync(_inbound.Writer, _outbound, stop).ConfigureAwait(false);
                    outageStart = _time.GetTimestamp();
                    lock (_lock)
                    {
                        if (_registered.Task.IsCompleted)
                        {
                            _registered = NewSignal();
                        }
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    error = null;
                }
                catch (Exception ex)
                {
                    error = ex;
                }
                finally
                {
                    await session.FinishCloseAsync().ConfigureAwait(false);
                    session.Dispose();
                }

                if (error is null || stop.IsCancellationRequested)
                {
                    break;
                }

                if (error is RelayRejectedException rejected)
                {
                    Log.Rejected(_logger, rejected.CloseCode ?? 0, rejected.Reason);
                    final = error;
                    break;
                }

                var elapsed = _time.GetElapsedTime(outageStart);
                var delay = _retryPolicy.NextRetryDelay(new RelayRetryContext(retries, elapsed, error));
                if (delay is null)
                {
                    Log.GaveUp(_logger, retries + 1, error.Message);
                    final = new RelayConnectionException(
                        $"Gave up connecting to the relay at {Address} after {retries + 1} failed attempt(s) over {elapsed.TotalSeconds:0.###} s. Last error: {error.Message}",
                        error);
                    break;
                }

                retries++;

                // Timers have millisecond resolution: round up, so the delay reported is the delay waited.
                var wait = TimeSpan.FromMilliseconds(Math.Ceiling(Math.Max(0, delay.Value.TotalMilliseconds)));
                Log.Retrying(_logger, error.Message, wait.TotalSeconds, retries);

                // Start the timer before reporting the state, so an observer that moves a fake clock on the event
                // moves it after the timer exists.
                var waiting = Task.Delay(wait, _time, stop);
                SetState(RelayClientState.Reconnecting, error, wait, retries);
                try
                {
                    await waiting.ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            Log.LoopFailed(_logger, ex);
            final = ex;
        }

        Finish(final);
    }

    private async ValueTask<IReadOnlyDictionary<string, string>> GetHeadersAsync(CancellationToken cancellationToken)
    {
        if (_options.HeadersProvider is null)
        {
            return _headers;
        }

        var fresh = await _options.HeadersProvider(cancellationToken).ConfigureAwait(false);
        if (fresh is null || fresh.Count == 0)
        {
            return _headers;
        }

        var merged = new Dictionary<string, string>(_headers, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in fresh)
        {
            merged[name] = value;
        }

        return merged;
    }

    /// <summary>
    /// Ends the client: reports Closed, then completes both channels and fails waiting sends and waiters, so whoever
    /// awaits one of them sees <see cref="State"/> Closed (and has had the event) when the await returns.
    /// </summary>
    private void Finish(Exception? error)
    {
        TaskCompletionSource registered;
        lock (_lock)
        {
            if (_state == RelayClientState.Closed)
            {
                return;
            }

            _closeError = error;
            _disposed = 1;
            _state = RelayClientState.Closed;
            registered = _registered;
        }

        if (error is null)
        {
            Log.Closed(_logger, Address, Uuid);
        }

        RaiseStateChanged(RelayClientState.Closed, error, null, 0);
        var failure = error ?? new ObjectDisposedException(nameof(RelayClient));
        registered.TrySetException(failure);
        _inbound.Writer.TryComplete(error);
        _outbound.FailAll(failure);
    }

    /// <summary>
    /// Moves to <paramref name="state"/>: visible in <see cref="State"/> and reported by <see cref="StateChanged"/>
    /// before a <see cref="ConnectAsync"/> waiting for Registered returns.
    /// </summary>
    private void SetState(RelayClientState state, Exception? error, TimeSpan? retryDelay, long retryCount)
    {
        TaskCompletionSource? registered = null;
        lock (_lock)
        {
            _state = state;
            if (state == RelayClientState.Registered)
            {
                registered = _registered;
            }
        }

        RaiseStateChanged(state, error, retryDelay, retryCount);
        registered?.TrySetResult();
    }

    private void RaiseStateChanged(RelayClientState state, Exception? error, TimeSpan? retryDelay, long retryCount)
    {
        var handler = StateChanged;
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(this, new RelayClientStateChangedEventArgs(state, error, retryDelay, retryCount));
        }
        catch (Exception ex)
        {
            Log.StateHandlerFailed(_logger, ex, state);
        }
    }
}
