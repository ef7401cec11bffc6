using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace PeerRelay.Transport.Internal.Epoll;

/// <summary>
/// A listening socket on every <see cref="EpollLoop"/> (<c>EPOLLEXCLUSIVE</c>: one loop wakes per connection), which
/// accepts on the loop's thread and keeps each connection on that loop. A connection goes to Kestrel
/// (<see cref="AcceptAsync"/>), or, on an endpoint with an event-loop pipeline (<see cref="EventLoopEndpoints"/>), runs
/// through that pipeline on the loop when its first bytes arrive, without Kestrel's per-connection dispatch; the
/// pipeline's end hands what it does not serve to Kestrel, unread.
/// </summary>
internal sealed partial class EpollListener : IConnectionListener, IEpollHandler
{
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly Socket _listenSocket;
    private readonly int _fd;
    private readonly EpollLoop[] _loops;
    private readonly long[] _registrations;
    private readonly RelaySocketTransportOptions _options;
    private readonly ILogger _logger;
    private readonly TransportMetrics _metrics;
    private readonly ConnectionDelegate? _pipeline;
    private readonly TimeSpan _firstBytesTimeout;
    private readonly RelaySocketConnection.CloseSettings _closeSettings;
    private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleReader = true });
    private int _unbound;

    public EpollListener(
        Socket listenSocket,
        EpollLoop[] loops,
        RelaySocketTransportOptions options,
        ILogger logger,
        TransportMetrics metrics,
        EventLoopEndpoints.Pipeline? pipeline,
        IServiceProvider services)
    {
        _listenSocket = listenSocket;
        _fd = (int)listenSocket.SafeHandle.DangerousGetHandle();
        _loops = loops;
        _options = options;
        _logger = logger;
        _metrics = metrics;
        _closeSettings = new RelaySocketConnection.CloseSettings(options.CloseLingerTimeout, options.CloseLingerMaxBytes, metrics);
        if (pipeline is not null)
        {
            var builder = new ConnectionBuilder(services);
            pipeline.Configure(builder);
            builder.Run(HandOff);
            _pipeline = builder.Build();
            _firstBytesTimeout = pipeline.FirstBytesTimeout;
        }

        EndPoint = listenSocket.LocalEndPoint!;
        _registrations = new long[loops.Length];
        for (var i = 0; i < loops.Length; i++)
        {
            _registrations[i] = loops[i].Register(_fd, LibC.EpollIn | LibC.EpollExclusive, this);
        }
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            while (await _accepted.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_accepted.Reader.TryRead(out var connection))
                {
                    return connection;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return null; // Unbound.
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        Unbind();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        Unbind();

        // Accepted, never taken by Kestrel: closed.
        while (_accepted.Reader.TryRead(out var connection))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public unsafe void OnEvents(EpollLoop loop, uint events)
    {
        byte* address = stackalloc byte[128];
        for (var i = 0; i < 64 && Volatile.Read(ref _unbound) == 0; i++)
        {
            uint length = 128;
            var fd = LibC.accept4(_fd, address, &length, LibC.SockNonBlock | LibC.SockCloexec);
            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EAgain)
                {
                    return;
                }

                var error = LibC.ToSocketError(errno);
                _metrics.AcceptError(error);
                if (errno is LibC.EIntr or LibC.EConnAborted)
                {
                    Log.ResetBeforeAccept(_logger, error);
                    continue; // That client gave up; the listener goes on.
                }

                // Out of descriptors or memory: the connection waits in the backlog. This loop stops listening for a
                // moment instead of spinning on a listening socket that stays readable.
                Log.AcceptFailed(_logger, error, errno, AcceptRetryDelay.TotalMilliseconds);
                PauseOn(loop);
                return;
            }

            if (_options.NoDelay)
            {
                var one = 1;
                _ = LibC.setsockopt(fd, LibC.IpProtoTcp, LibC.TcpNoDelay, &one, sizeof(int));
            }

            Accepted(loop, fd, new ReadOnlySpan<byte>(address, (int)length));
        }
    }

    /// <summary>Runs a connection through the event-loop pipeline (the loop's thread); <see cref="Ended"/> follows when it completes.</summary>
    public Task Run(RelaySocketConnection connection)
    {
        try
        {
            return _pipeline!(connection);
        }
        catch (Exception ex)
        {
            return Task.FromException(ex);
        }
    }

    /// <summary>The pipeline of <paramref name="connection"/> has completed: the connection is disposed, unless handed to Kestrel.</summary>
    public void Ended(RelaySocketConnection connection, Task run)
    {
        if (!run.IsCompletedSuccessfully)
        {
            Log.PipelineFailed(_logger, connection.ConnectionId, run.Exception?.InnerException ?? new TaskCanceledException(run));
        }

        if (!((EpollSocket)connection.Socket).HandedOff)
        {
            _ = DisposeConnectionAsync(connection);
        }
    }

    private async Task DisposeConnectionAsync(RelaySocketConnection connection)
    {
        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.PipelineFailed(_logger, connection.ConnectionId, ex);
        }
    }

    /// <summary>The end of the event-loop pipeline: Kestrel takes the connection, with what was read still unread.</summary>
    public Task HandOff(ConnectionContext context)
    {
        if (context is RelaySocketConnection { Socket: EpollSocket socket })
        {
            socket.HandedOff = true;
        }

        if (!_accepted.Writer.TryWrite(context))
        {
            context.Abort(); // Unbound meanwhile.
        }

        return Task.CompletedTask;
    }

    private void Accepted(EpollLoop loop, int fd, ReadOnlySpan<byte> remote)
    {
        var socket = new EpollSocket(fd, loop, remote);
        var connection = new RelaySocketConnection(socket, _options.ReadBufferSize, _closeSettings);
        try
        {
            socket.Register();
        }
        catch (IOException ex)
        {
            Log.RegisterFailed(_logger, ex.Message);
            _ = LibC.close(fd);
            return;
        }

        if (_pipeline is null)
        {
            if (!_accepted.Writer.TryWrite(connection))
            {
                connection.Abort();
            }
        }
        else
        {
            socket.StartOnFirstBytes(this, connection, _firstBytesTimeout);
        }
    }

    private void PauseOn(EpollLoop loop)
    {
        var index = Array.IndexOf(_loops, loop);
        loop.Unregister(_fd, _registrations[index]);
        _ = Task.Delay(AcceptRetryDelay).ContinueWith(
            _ =>
            {
                if (Volatile.Read(ref _unbound) == 0)
                {
                    _registrations[index] = loop.Register(_fd, LibC.EpollIn | LibC.EpollExclusive, this);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default);
    }

    private void Unbind()
    {
        if (Interlocked.Exchange(ref _unbound, 1) != 0)
        {
            return;
        }

        for (var i = 0; i < _loops.Length; i++)
        {
            _loops[i].Unregister(_fd, _registrations[i]);
        }

        _listenSocket.Dispose();
        _accepted.Writer.TryComplete();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "A connection was reset before it was accepted ({Error})")]
        public static partial void ResetBeforeAccept(ILogger logger, SocketError error);

        [LoggerMessage(2, LogLevel.Warning, "Accepting a connection failed ({Error}, errno {Errno}); this event loop retries in {Milliseconds} ms")]
        public static partial void AcceptFailed(ILogger logger, SocketError error, int errno, double milliseconds);

        [LoggerMessage(3, LogLevel.Warning, "Registering an accepted connection with epoll failed: {Why}")]
        public static partial void RegisterFailed(ILogger logger, string why);

        [LoggerMessage(4, LogLevel.Error, "The event-loop pipeline of connection {ConnectionId} failed")]
        public static partial void PipelineFailed(ILogger logger, string connectionId, Exception exception);
    }
}
