using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PeerRelay.Transport.Internal.Epoll;

/// <summary>
/// An accepted connection's descriptor on an <see cref="EpollLoop"/>, registered once, edge-triggered, for input (and
/// for output from the first send the kernel does not take whole): no system call to start or end a wait. An edge that
/// arrives while nobody waits is remembered (<see cref="_readEdge"/>), so a read after a short receive waits without
/// trying the kernel again (the floor's one <c>recv</c> per message). Data-path members run under the connection's
/// lock; the descriptor is closed on the loop's thread at the end of a turn, after pending operations were failed.
/// </summary>
internal sealed class EpollSocket : TransportSocket, IEpollHandler
{
    private const uint ReadOnlyEvents = LibC.EpollIn | LibC.EpollRdHup | LibC.EpollEt; // Registered with; EPOLLOUT added when needed.

    private readonly EpollLoop _loop;
    private readonly int _fd;
    // The peer's address as accepted (an IPEndPoint only when asked for): an IPv4 peer's address and port packed in
    // one long (the address as in the sockaddr from bit 16, the port below, Mapped when it came IPv4-mapped through a
    // dual-mode listener); any other peer's sockaddr as is.
    private const long Mapped = 1L << 48;
    private readonly long _remoteV4;
    private readonly byte[]? _remoteOther;
    private long _registration;
    private bool _readEdge; // Readable (or closed) since the last receive.
    private bool _hungUp; // The peer's FIN, a reset or an error was seen: reads no longer wait (sticky).
    private bool _waitRead; // The reader waits for an edge.
    private bool _waitWrite; // An asynchronous send waits for room.
    private bool _writeWatched; // Registered for EPOLLOUT too (since the first send the kernel did not take whole).
    private bool _closing; // Close was asked: operations fail from now on.
    private bool _closed; // The descriptor is closed.
    private Rare? _rare; // An asynchronous send's state, closing's linger wait: made on first use, not for an idle client.
    private EpollListener? _listener; // Runs the connection through its pipeline when its first bytes arrive.
    private RelaySocketConnection? _connection;
    private Task? _run; // The pipeline, while it runs on after its start.
    private bool _started;

    public EpollSocket(int fd, EpollLoop loop, ReadOnlySpan<byte> remote)
    {
        _fd = fd;
        _loop = loop;
        var port = remote.Length >= 4 ? (uint)((remote[2] << 8) | remote[3]) : 0;
        if (remote.Length >= 8 && MemoryMarshal.Read<ushort>(remote) == LibC.AfInet)
        {
            _remoteV4 = ((long)MemoryMarshal.Read<uint>(remote[4..]) << 16) | port;
        }
        else if (remote.Length >= 28 && MemoryMarshal.Read<ushort>(remote) == LibC.AfInet6 && remote[8..18].IndexOfAnyExcept((byte)0) < 0
            && remote[18] == 0xff && remote[19] == 0xff && MemoryMarshal.Read<uint>(remote[24..]) == 0)
        {
            _remoteV4 = Mapped | ((long)MemoryMarshal.Read<uint>(remote[20..]) << 16) | port;
        }
        else
        {
            _remoteOther = remote.ToArray();
        }
    }

    /// <summary>Gets the peer's address, made from the kept <c>sockaddr</c> on each call (the relay asks once, at its handshake).</summary>
    public override EndPoint? RemoteEndPoint => _remoteOther is { } other
        ? (other.Length >= 4 ? LibC.ToEndPoint(other) : null)
        : new IPEndPoint(
            (_remoteV4 & Mapped) != 0 ? new IPAddress((uint)(_remoteV4 >> 16)).MapToIPv6() : new IPAddress((uint)(_remoteV4 >> 16)),
            (int)(_remoteV4 & 0xFFFF));

    public override unsafe EndPoint? LocalEndPoint
    {
        get
        {
            lock (this)
            {
                if (_closed)
                {
                    return null;
                }

                byte* address = stackalloc byte[128];
                uint length = 128;
                return LibC.getsockname(_fd, address, &length) == 0 ? LibC.ToEndPoint(new ReadOnlySpan<byte>(address, (int)length)) : null;
            }
        }
    }

    public override unsafe int Available
    {
        get
        {
            lock (this)
            {
                ObjectDisposedException.ThrowIf(_closing, this);
                int available;
                if (LibC.ioctl(_fd, LibC.FionRead, &available) != 0)
                {
                    throw new SocketException((int)LibC.ToSocketError(Marshal.GetLastPInvokeError()));
                }

                return available;
            }
        }
    }

    /// <summary>Gets or sets a value indicating whether the connection was handed to Kestrel by its event-loop pipeline.</summary>
    public bool HandedOff { get; set; }

    /// <summary>
    /// Registers the descriptor with the loop (the loop's thread, right after accept), for reading only: a new socket
    /// is writable, and an edge for that would cost the loop a turn per connection. Writing is added the first time
    /// the kernel's buffer fills up (<see cref="StartSend"/>), and then stays.
    /// </summary>
    public void Register() =>
        _registration = _loop.Register(_fd, ReadOnlyEvents, this);

    /// <summary>Runs <paramref name="connection"/> through <paramref name="listener"/>'s pipeline when its first bytes arrive, or after <paramref name="timeout"/>.</summary>
    public void StartOnFirstBytes(EpollListener listener, RelaySocketConnection connection, TimeSpan timeout)
    {
        _listener = listener;
        _connection = connection;
        _loop.WatchFirstBytes(_registration, timeout);
    }

    /// <summary>Gets a value indicating whether the connection waits for its first bytes (the loop's thread).</summary>
    public bool AwaitsFirstBytes => _listener is not null && !_started;

    /// <summary>
    /// Starts the connection if its first bytes have not done so (the loop's thread). A pipeline that runs on (the
    /// relay's receive loop) is waited for by one continuation delegate, not a suspended async method per idle client.
    /// </summary>
    public void StartIfPending()
    {
        if (_listener is not { } listener || _started)
        {
            return;
        }

        _started = true;
        var run = listener.Run(_connection!);
        if (run.IsCompleted)
        {
            listener.Ended(_connection!, run);
            return;
        }

        _run = run;
        run.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(OnRunEnded);
    }

    private void OnRunEnded() => _listener!.Ended(_connection!, _run!);

    public override unsafe int Receive(Span<byte> buffer, out SocketError error)
    {
        if (_closing)
        {
            error = SocketError.OperationAborted;
            return 0;
        }

        _readEdge = false;
        nint received;
        fixed (byte* p = buffer)
        {
            received = LibC.recv(_fd, p, buffer.Length, 0);
        }

        if (received >= 0)
        {
            error = SocketError.Success;
            return (int)received;
        }

        error = LibC.ToSocketError(Marshal.GetLastSystemError()); // recv/send do not save it: read at once.
        return 0;
    }

    public override unsafe int Send(ReadOnlySpan<byte> buffer, out SocketError error)
    {
        if (_closing)
        {
            error = SocketError.OperationAborted;
            return 0;
        }

        nint sent;
        fixed (byte* p = buffer)
        {
            sent = LibC.send(_fd, p, buffer.Length, LibC.MsgNoSignal);
        }

        if (sent >= 0)
        {
            error = SocketError.Success;
            return (int)sent;
        }

        error = LibC.ToSocketError(Marshal.GetLastSystemError()); // recv/send do not save it: read at once.
        return 0;
    }

    public override bool StartWaitReadable()
    {
        // After a hang-up a receive never blocks, and no further edge may come: one edge can report the last bytes
        // and the FIN or reset together, and the short read of those bytes must not make the next read wait.
        if (_closing || _readEdge || _hungUp)
        {
            return false; // The receive that follows says what happened.
        }

        _waitRead = true;
        return true;
    }

    public override Exception? EndWaitReadable() => null;

    public override void StartSend(byte[] buffer, int offset, int count)
    {
        var rare = _rare ??= new Rare();
        rare.SendBuffer = buffer;
        rare.SendOffset = offset;
        rare.SendCount = count;
        rare.SendError = null;
        _waitWrite = true;
        if (!_closing && !_writeWatched)
        {
            // Edge-triggered: the change reports the socket writable at once if room came meanwhile.
            _writeWatched = true;
            if (_loop.Modify(_fd, _registration, ReadOnlyEvents | LibC.EpollOut) != 0)
            {
                _closing = true; // No edge would ever come: the send fails (and the connection with it) at the end of the turn.
            }
        }

        if (_closing)
        {
            _loop.CloseLater(this); // Fails the send at the end of the turn.
        }
    }

    public override Exception? EndSend()
    {
        if (_rare is not { } rare)
        {
            return null;
        }

        var error = rare.SendError;
        rare.SendError = null;
        return error;
    }

    public override async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource wait;
            lock (this)
            {
                var received = Receive(buffer.Span, out var error);
                if (error == SocketError.Success)
                {
                    return received;
                }

                if (error is not (SocketError.WouldBlock or SocketError.Interrupted))
                {
                    throw new SocketException((int)error);
                }

                wait = (_rare ??= new Rare()).LingerWait = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            await wait.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Shutdown(SocketShutdown how)
    {
        lock (this)
        {
            if (!_closed)
            {
                _ = LibC.shutdown(_fd, how switch
                {
                    SocketShutdown.Receive => LibC.ShutRd,
                    SocketShutdown.Send => LibC.ShutWr,
                    _ => LibC.ShutRdWr,
                });
            }
        }
    }

    public override unsafe void ResetOnClose()
    {
        lock (this)
        {
            if (!_closed)
            {
                int* linger = stackalloc int[2] { 1, 0 };
                _ = LibC.setsockopt(_fd, LibC.SolSocket, LibC.SoLinger, linger, 8);
            }
        }
    }

    public override void Close()
    {
        lock (this)
        {
            if (_closing)
            {
                return;
            }

            _closing = true;
        }

        _loop.CloseLater(this);
    }

    /// <summary>Closes the descriptor and fails what waits (the loop's thread, at the end of a turn).</summary>
    public void CloseNow()
    {
        bool failRead;
        bool failSend;
        TaskCompletionSource? linger;
        lock (this)
        {
            if (!_closing)
            {
                return;
            }

            if (!_closed)
            {
                _closed = true;
                _loop.Free(_registration);
                _ = LibC.close(_fd);
            }

            failRead = _waitRead;
            _waitRead = false;
            failSend = _waitWrite;
            _waitWrite = false;
            linger = null;
            if (_rare is { } rare)
            {
                rare.SendBuffer = null;
                if (failSend)
                {
                    rare.SendError = new SocketException((int)SocketError.OperationAborted);
                }

                linger = rare.LingerWait;
                rare.LingerWait = null;
            }
        }

        if (failSend)
        {
            Writer!.OnSent();
        }

        if (failRead)
        {
            Reader!.OnReadable();
        }

        linger?.TrySetResult();
    }

    public void OnEvents(EpollLoop loop, uint events)
    {
        const uint ReadEvents = LibC.EpollIn | LibC.EpollRdHup | LibC.EpollHup | LibC.EpollErr;
        const uint WriteEvents = LibC.EpollOut | LibC.EpollHup | LibC.EpollErr;
        var readable = false;
        var writable = false;
        Action? direct = null;
        TaskCompletionSource? linger = null;
        lock (this)
        {
            if (_closed)
            {
                return;
            }

            if ((events & ReadEvents) != 0)
            {
                _readEdge = true;
                _hungUp |= (events & (LibC.EpollRdHup | LibC.EpollHup | LibC.EpollErr)) != 0;
                readable = _waitRead;
                _waitRead = false;
                if (readable)
                {
                    // Direct reads: the reader's wait ends under this lock, not under one more of its own.
                    direct = Reader!.EndDirectWaitLocked();
                }

                if (_rare is { LingerWait: { } waiting } rare)
                {
                    linger = waiting;
                    rare.LingerWait = null;
                }
            }

            writable = (events & WriteEvents) != 0 && _waitWrite;
        }

        if ((events & ReadEvents) != 0)
        {
            StartIfPending();
        }

        if (writable)
        {
            ContinueSend();
        }

        if (direct is not null)
        {
            direct();
        }
        else if (readable)
        {
            Reader!.OnReadable();
        }

        linger?.TrySetResult();
    }

    /// <summary>Sends what an asynchronous send still holds, now that there may be room; tells the writer when done.</summary>
    private void ContinueSend()
    {
        lock (this)
        {
            if (!_waitWrite || _rare is not { } rare)
            {
                return;
            }

            while (rare.SendCount > 0)
            {
                var sent = Send(rare.SendBuffer.AsSpan(rare.SendOffset, rare.SendCount), out var error);
                if (error == SocketError.Success)
                {
                    rare.SendOffset += sent;
                    rare.SendCount -= sent;
                }
                else if (error == SocketError.WouldBlock)
                {
                    return; // Still full: the next edge tries again.
                }
                else if (error != SocketError.Interrupted)
                {
                    rare.SendError = new SocketException((int)error);
                    break;
                }
            }

            _waitWrite = false;
            rare.SendBuffer = null;
        }

        Writer!.OnSent();
    }

    /// <summary>What only a connection whose kernel buffer filled up, or that lingers at its close, needs (under the lock).</summary>
#pragma warning disable SA1401 // Fields of a private state object.
    private sealed class Rare
    {
        public byte[]? SendBuffer;
        public int SendOffset;
        public int SendCount;
        public Exception? SendError;
        public TaskCompletionSource? LingerWait;
    }
#pragma warning restore SA1401
}
