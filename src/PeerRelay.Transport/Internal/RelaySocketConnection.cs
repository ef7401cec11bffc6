using System.Buffers;
using System.Collections;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace PeerRelay.Transport.Internal;

/// <summary>
/// One accepted connection. Its transport (<see cref="SocketPipeReader"/>, <see cref="SocketPipeWriter"/>) reads the
/// socket only when the application reads and writes to it when the application flushes, on the flushing thread: no
/// pipes between socket and application, no receive or send loop, no buffer held while idle. A flush completes when
/// the kernel has taken the bytes, so a peer that stops reading holds the writer up at the socket's own buffer. It is
/// its own feature collection (no dictionary per connection).
/// </summary>
internal sealed class RelaySocketConnection : ConnectionContext, IDuplexPipe, IFeatureCollection, IConnectionIdFeature,
    IConnectionTransportFeature, IConnectionItemsFeature, IMemoryPoolFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature,
    IDirectReceiveFeature, IDirectSendFeature
{
    /// <summary>
    /// What the pipes are completed with on dispose: one instance for every connection. It is never thrown (the reader
    /// ignores it; to the writer it only means "do not send what is left"), so sharing it costs nothing and saves an
    /// exception per connection (issue 17's churn profile).
    /// </summary>
    private static readonly ConnectionAbortedException DisposedReason = new("The connection was disposed.");

    /// <summary>The features the connection itself implements, in the order they are enumerated.</summary>
    private static readonly Type[] OwnFeatures =
    [
        typeof(IConnectionIdFeature), typeof(IConnectionTransportFeature), typeof(IConnectionItemsFeature),
        typeof(IMemoryPoolFeature), typeof(IConnectionLifetimeFeature), typeof(IConnectionEndPointFeature),
        typeof(IDirectReceiveFeature), typeof(IDirectSendFeature),
    ];

    private static long s_lastId = DateTime.UtcNow.Ticks;

    private readonly TransportSocket _socket;
    private readonly CloseSettings _close;
    private readonly SocketPipeReader _input;
    private Rare? _rare; // What Kestrel, TLS and logs ask of some connections, never of an idle relay client: made on first use.
    private bool _remoteEndPointSet;
    private bool _socketDisposed;
    private bool _disposed;

    public RelaySocketConnection(
        Socket socket,
        int readBufferSize,
        TimeSpan lingerTimeout,
        TransportMetrics? metrics = null,
        int lingerMaxBytes = RelaySocketTransportOptions.DefaultCloseLingerMaxBytes)
        : this(new NetSocket(socket), readBufferSize, new CloseSettings(lingerTimeout, lingerMaxBytes, metrics))
    {
    }

    /// <param name="socket">The accepted socket.</param>
    /// <param name="readBufferSize">The size of a read buffer.</param>
    /// <param name="close">How closing lingers, shared by a listener's connections.</param>
    public RelaySocketConnection(TransportSocket socket, int readBufferSize, CloseSettings close)
    {
        _socket = socket;
        _close = close;
        _input = new SocketPipeReader(socket, readBufferSize);
        Output = new SocketPipeWriter(socket);
    }

    /// <summary>Gets the socket under the connection.</summary>
    internal TransportSocket Socket => _socket;

    public PipeReader Input => _input;

    public PipeWriter Output { get; }

    /// <summary>Gets or sets the connection's id for logs, made when first asked for (Kestrel's format).</summary>
    public override string ConnectionId
    {
        get => RareState.ConnectionId ??= FormatId(RareState.Id);
        set => RareState.ConnectionId = value;
    }

    public override IFeatureCollection Features => this;

    /// <summary>Gets or sets the application's view of the connection: the socket, unless a middleware (TLS) wraps it.</summary>
    public override IDuplexPipe Transport
    {
        get => _rare?.Transport ?? this;
        set => RareState.Transport = value;
    }

    public override IDictionary<object, object?> Items
    {
        get => RareState.Items ??= new Dictionary<object, object?>();
        set => RareState.Items = value;
    }

    /// <summary>
    /// Gets or sets the peer's address: the socket's (made when asked for, not kept: an idle connection holds no
    /// <see cref="IPEndPoint"/>), unless set.
    /// </summary>
    public override EndPoint? RemoteEndPoint
    {
        get => _remoteEndPointSet ? base.RemoteEndPoint : _socket.RemoteEndPoint;
        set
        {
            base.RemoteEndPoint = value;
            _remoteEndPointSet = true;
        }
    }

    /// <summary>Gets or sets the local address, read from the socket when first asked for.</summary>
    public override EndPoint? LocalEndPoint
    {
        get
        {
            return RareState.LocalEndPoint ??= _socket.LocalEndPoint;
        }

        set => RareState.LocalEndPoint = value;
    }

    public MemoryPool<byte> MemoryPool => MemoryPool<byte>.Shared;

    bool IFeatureCollection.IsReadOnly => false;

    int IFeatureCollection.Revision => _rare?.Revision ?? 0;

    object? IFeatureCollection.this[Type key]
    {
        get => GetFeature(key);
        set => SetFeature(key, value);
    }

    /// <summary>Gets or sets a token cancelled when the connection is aborted or disposed (made when first asked for).</summary>
    public override CancellationToken ConnectionClosed
    {
        get
        {
            lock (_socket)
            {
                var rare = RareState;
                if (rare.Closed is null)
                {
                    rare.Closed = new CancellationTokenSource();
                    if (_socketDisposed)
                    {
                        rare.Closed.Cancel();
                    }
                }

                return rare.Closed.Token;
            }
        }

        set => throw new NotSupportedException("The connection's ConnectionClosed token cannot be replaced.");
    }

    TFeature? IFeatureCollection.Get<TFeature>()
        where TFeature : default => (TFeature?)GetFeature(typeof(TFeature));

    void IFeatureCollection.Set<TFeature>(TFeature? instance)
        where TFeature : default => SetFeature(typeof(TFeature), instance);

    IEnumerator<KeyValuePair<Type, object>> IEnumerable<KeyValuePair<Type, object>>.GetEnumerator() => EnumerateFeatures().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => EnumerateFeatures().GetEnumerator();

    void IConnectionLifetimeFeature.Abort() => CloseSocket();

    /// <summary>Direct reads, only while the application's transport is the socket's own (no TLS wrapped around it).</summary>
    bool IDirectReceiveFeature.TryStartDirectReceive(Action onReadable)
    {
        ArgumentNullException.ThrowIfNull(onReadable);
        return ReferenceEquals(Transport, this) && _input.TryStartDirect(onReadable);
    }

    int IDirectReceiveFeature.Receive(Span<byte> buffer, out SocketError outcome) => _input.ReceiveDirect(buffer, out outcome);

    bool IDirectReceiveFeature.WaitReadable() => _input.WaitReadableDirect();

    bool IDirectSendFeature.TrySend(ReadOnlySpan<byte> data)
    {
        if (ReferenceEquals(Transport, this))
        {
            return ((SocketPipeWriter)Output).TrySendNow(data);
        }

        Transport.Output.Write(data); // Wrapped (TLS): the bytes must go through the wrapper.
        return false;
    }

    /// <summary>Closes the socket (FIN, then release): pending and later reads and writes fail with an <see cref="IOException"/>.</summary>
    public override void Abort(ConnectionAbortedException abortReason) => CloseSocket();

    /// <summary>
    /// As <see cref="Abort(ConnectionAbortedException)"/>, without the exception the base class would make for a reason
    /// nobody reads (the relay ends every completed close handshake this way: one exception per connection).
    /// </summary>
    public override void Abort() => CloseSocket();

    public override async ValueTask DisposeAsync()
    {
        CancellationTokenSource? closed;
        lock (_socket)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            closed = _rare?.Closed;
        }

        // Everything the application meant to send was flushed before it finished with the connection; what was not
        // (an abort) is dropped, not written synchronously to a socket that may not drain.
        await LingerAsync().ConfigureAwait(false);
        CloseSocket();
        Input.Complete(DisposedReason);
        Output.Complete(DisposedReason);
        closed?.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Closing a socket with unread bytes makes the kernel reset the connection, and a reset can cost the peer what we
    /// sent last (a close frame: 1009 for a message too large, whose rest is still arriving). So when bytes are
    /// waiting, send FIN first and read and discard until the peer closes too, for at most the linger time-out and at
    /// most the linger's bytes: a peer that goes on flooding past them is reset at once (issue 13: a flooder cut and
    /// lingered over made the relay read whatever it sent for two seconds).
    /// </summary>
    private async ValueTask LingerAsync()
    {
        int waiting;
        lock (_socket)
        {
            if (_socketDisposed || _close.LingerTimeout <= TimeSpan.Zero)
            {
                return;
            }

            try
            {
                waiting = _socket.Available;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }
        }

        if (waiting == 0)
        {
            return;
        }

        if (waiting > _close.LingerMaxBytes)
        {
            Reset("over_bytes");
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(16384);
        using var timeout = new CancellationTokenSource(_close.LingerTimeout);
        var outcome = "peer_closed";
        long discarded = 0;
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            int n;
            while ((n = await _socket.ReceiveAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
            {
                discarded += n;
                if (discarded > _close.LingerMaxBytes)
                {
                    outcome = "over_bytes"; // Still flooding: reset below, without reading more.
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            outcome = "timed_out"; // Still sending after the linger time-out: close anyway.
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            outcome = "reset"; // Reset or aborted meanwhile.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (outcome == "over_bytes")
        {
            Reset(outcome);
            return;
        }

        _close.Metrics?.LingeringClose(outcome);
    }

    /// <summary>Closes with a reset (<c>SO_LINGER</c> 0): the kernel drops what is unread and tells the peer at once.</summary>
    private void Reset(string outcome)
    {
        _socket.ResetOnClose();
        _close.Metrics?.LingeringClose(outcome);
    }

    private void CloseSocket()
    {
        CancellationTokenSource? closed;
        lock (_socket)
        {
            if (_socketDisposed)
            {
                return;
            }

            _socketDisposed = true;
            closed = _rare?.Closed;
        }

        _socket.Shutdown(SocketShutdown.Both);
        _socket.Close();
        try
        {
            closed?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Gets the connection's rarely used state, made when first needed.</summary>
    private Rare RareState
    {
        get
        {
            if (_rare is { } rare)
            {
                return rare;
            }

            Interlocked.CompareExchange(ref _rare, new Rare(), null);
            return _rare;
        }
    }

    private static bool IsOwnFeature(Type key) => Array.IndexOf(OwnFeatures, key) >= 0;

    /// <summary>The position of <paramref name="key"/> among the features set by others, or -1.</summary>
    private int IndexOfSet(Type key)
    {
        var features = _rare?.Features;
        for (var i = 0; features is not null && i < features.Count; i++)
        {
            if (features[i].Key == key)
            {
                return i;
            }
        }

        return -1;
    }

    private object? GetFeature(Type key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var index = IndexOfSet(key);
        return index >= 0 ? _rare!.Features![index].Value : IsOwnFeature(key) ? this : null;
    }

    /// <summary>Sets or (with null) removes a feature; one of the connection's own features can be replaced, and comes back when the replacement is removed.</summary>
    private void SetFeature(Type key, object? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var rare = RareState;
        rare.Revision++;
        var features = rare.Features ??= new List<KeyValuePair<Type, object>>(4);
        var index = IndexOfSet(key);
        if (index >= 0)
        {
            features.RemoveAt(index);
        }

        if (value is not null)
        {
            features.Add(new KeyValuePair<Type, object>(key, value));
        }
    }

    private IEnumerable<KeyValuePair<Type, object>> EnumerateFeatures()
    {
        foreach (var key in OwnFeatures)
        {
            if (GetFeature(key) is { } feature)
            {
                yield return new KeyValuePair<Type, object>(key, feature);
            }
        }

        foreach (var pair in _rare?.Features ?? [])
        {
            if (!IsOwnFeature(pair.Key))
            {
                yield return pair;
            }
        }
    }

    /// <summary>Formats a connection id like Kestrel's: 13 characters of base 32.</summary>
    private static string FormatId(long id) => string.Create(13, id, static (buffer, value) =>
    {
        const string Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
        for (var i = 12; i >= 0; i--)
        {
            buffer[i] = Digits[(int)(value & 31)];
            value >>= 5;
        }
    });

    /// <summary>How a listener's connections close (<see cref="LingerAsync"/>): one object for all of them.</summary>
    /// <param name="LingerTimeout">The longest a close reads and discards what the peer still sends.</param>
    /// <param name="LingerMaxBytes">The most bytes a close discards before it resets.</param>
    /// <param name="Metrics">Where lingering closes are counted.</param>
    internal sealed record CloseSettings(TimeSpan LingerTimeout, int LingerMaxBytes, TransportMetrics? Metrics);

    /// <summary>What only some connections need (those served by Kestrel, TLS, logs): kept out of an idle relay client's connection.</summary>
    private sealed class Rare
    {
        public long Id { get; } = Interlocked.Increment(ref s_lastId);

        public string? ConnectionId { get; set; }

        public IDuplexPipe? Transport { get; set; }

        public IDictionary<object, object?>? Items { get; set; }

        public List<KeyValuePair<Type, object>>? Features { get; set; } // Set by others (TLS, Kestrel), in the order set.

        public int Revision { get; set; }

        public EndPoint? LocalEndPoint { get; set; }

        public CancellationTokenSource? Closed { get; set; }
    }
}
