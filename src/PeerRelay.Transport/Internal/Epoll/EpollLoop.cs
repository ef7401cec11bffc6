using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace PeerRelay.Transport.Internal.Epoll;

/// <summary>
/// One event loop of the epoll transport: a thread that waits in <c>epoll_wait</c> and handles every ready descriptor
/// of its set in one turn, running the application's continuations inline (a message is read, routed and sent on the
/// thread that saw it arrive). Descriptors are registered edge-triggered with a slot number and generation as their
/// data, so an event of a descriptor closed meanwhile finds nothing. Closing is deferred to the end of the turn. The
/// loop also times new connections out that send nothing (<see cref="WatchFirstBytes"/>).
/// </summary>
internal sealed unsafe partial class EpollLoop : IDisposable
{
    private const int MaxEvents = 256;
    private const long WakeData = 0; // Slot 0: the loop's eventfd.
    private const int MaxWaitFailures = 3; // epoll_wait failing this many times in a row (not EINTR) ends the loop.

    [ThreadStatic]
    private static EpollLoop? t_current;

    private readonly int _epfd;
    private readonly int _wakeFd;
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly Lock _slotsLock = new();
    private readonly Lock _wakeLock = new();
    private readonly ConcurrentQueue<EpollSocket> _toClose = new();
    private volatile bool _closesQueued; // Set after each enqueue to _toClose: the end of a turn looks at a flag, not the queue.
    // New connections waiting for their first bytes, by registration (a connection started or closed meanwhile is not
    // kept alive by it: a churned connection is garbage at once, not after handshake_timeout). The loop's thread only.
    private readonly Queue<(long Registration, long Deadline)> _firstBytes = new();
    private readonly Stack<int> _freeSlots = new();
    private IEpollHandler?[] _slots = new IEpollHandler?[1024];
    private int[] _generations = new int[1024];
    private int _nextSlot = 1;
    private int _wakePending;
    private volatile bool _stopping;
    private bool _exited; // The descriptors are closed (under _wakeLock).

    public EpollLoop(int index, ILogger logger)
    {
        _logger = logger;
        _epfd = LibC.epoll_create1(LibC.EpollCloexec);
        if (_epfd < 0)
        {
            throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}.");
        }

        _wakeFd = LibC.eventfd(0, LibC.EfdNonBlock | LibC.EfdCloexec);
        if (_wakeFd < 0 || LibC.EpollAdd(_epfd, _wakeFd, LibC.EpollIn, (nint)WakeData) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _ = LibC.close(_epfd);
            throw new IOException($"eventfd failed: errno {errno}.");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = $"PeerRelay epoll {index}" };
        _thread.UnsafeStart();
    }

    /// <summary>Gets a value indicating whether the calling thread is this loop's.</summary>
    public bool IsCurrent => ReferenceEquals(t_current, this);

    /// <summary>Gets the loop whose thread calls (null off the loops).</summary>
    public static EpollLoop? Current => t_current;

    /// <summary>
    /// Gets how many new connections the loop is timing out (<see cref="WatchFirstBytes"/>): while any is, it waits in
    /// <c>epoll_wait</c> with a time-out. The loop's own count, read unsynchronised: for tests and diagnostics only.
    /// </summary>
    public int FirstBytesWatched => _firstBytes.Count;

    /// <summary>Adds <paramref name="fd"/> with <paramref name="events"/>; returns its registration (for <see cref="Free"/>), or throws.</summary>
    public long Register(int fd, uint events, IEpollHandler handler)
    {
        long data;
        lock (_slotsLock)
        {
            int slot;
            if (!_freeSlots.TryPop(out slot))
            {
                slot = _nextSlot++;
                if (slot == _slots.Length)
                {
                    Array.Resize(ref _generations, slot * 2);
                    var slots = _slots;
                    Array.Resize(ref slots, slot * 2);
                    _slots = slots; // Published after its entries: the loop reads it without the lock.
                }
            }

            _slots[slot] = handler;
            data = ((long)_generations[slot] << 32) | (uint)slot;
        }

        var errno = LibC.EpollAdd(_epfd, fd, events, (nint)data);
        if (errno != 0)
        {
            Free(data);
            throw new IOException($"epoll_ctl failed: errno {errno}.");
        }

        return data;
    }

    /// <summary>Changes the events <paramref name="fd"/> (registered as <paramref name="registration"/>) is watched for; the error number, or 0.</summary>
    public int Modify(int fd, long registration, uint events) => LibC.EpollModify(_epfd, fd, events, (nint)registration);

    /// <summary>Removes <paramref name="fd"/> from the set (before it is closed, when others may still hold it).</summary>
    public void Unregister(int fd, long registration)
    {
        LibC.EpollDelete(_epfd, fd);
        Free(registration);
    }

    /// <summary>Frees a registration's slot: a late event of it finds nothing.</summary>
    public void Free(long registration)
    {
        var slot = (int)registration;
        lock (_slotsLock)
        {
            if (_generations[slot] != (int)(registration >> 32))
            {
                return;
            }

            _generations[slot]++;
            _slots[slot] = null;
            _freeSlots.Push(slot);
        }
    }

    /// <summary>Closes <paramref name="socket"/> at the end of the loop's current turn (from any thread).</summary>
    public void CloseLater(EpollSocket socket)
    {
        _toClose.Enqueue(socket);
        _closesQueued = true;
        if (!IsCurrent)
        {
            Wake();
        }
    }

    /// <summary>Starts the connection of <paramref name="registration"/> when its first bytes have not come within <paramref name="timeout"/> (the loop's thread only).</summary>
    public void WatchFirstBytes(long registration, TimeSpan timeout) =>
        _firstBytes.Enqueue((registration, Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds)));

    public void Dispose()
    {
        _stopping = true;
        Wake();
        if (!IsCurrent)
        {
            _thread.Join();
        }
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            lock (_wakeLock)
            {
                if (!_exited)
                {
                    long one = 1;
                    _ = LibC.write(_wakeFd, (byte*)&one, sizeof(long));
                }
            }
        }
    }

    private void Run()
    {
        t_current = this;
        var size = LibC.EpollEventSize;
        var offset = LibC.EpollDataOffset;
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * size));
        try
        {
            var failures = 0;
            while (!_stopping)
            {
                var n = LibC.epoll_wait(_epfd, events, MaxEvents, NextTimeout());
                if (n < 0)
                {
                    // errno is read at once (see LibC.epoll_wait). A failure other than EINTR ends the loop only when it
                    // repeats: the way back from a wait that a GC interrupted may pass through the runtime, which could
                    // leave another value in errno.
                    var errno = Marshal.GetLastSystemError();
                    if (errno == LibC.EIntr || ++failures < MaxWaitFailures)
                    {
                        continue;
                    }

                    Log.WaitFailed(_logger, errno);
                    break;
                }

                failures = 0;

                var slots = _slots;
                for (var i = 0; i < n; i++)
                {
                    var entry = events + (i * size);
                    var data = *(long*)(entry + offset);
                    if (data == WakeData)
                    {
                        long value;
                        _ = LibC.read(_wakeFd, (byte*)&value, sizeof(long));
                        Volatile.Write(ref _wakePending, 0);
                        continue;
                    }

                    Dispatch(slots, data, *(uint*)entry);
                }

                CloseDeferred();
                StartTimedOut();
            }
        }
        finally
        {
            NativeMemory.Free(events);

            // Stopped with connections still open (Kestrel's were aborted, the relay's drained): close what is left.
            foreach (var handler in _slots)
            {
                (handler as EpollSocket)?.Close();
            }

            CloseDeferred();
            lock (_wakeLock)
            {
                _exited = true;
                _ = LibC.close(_wakeFd);
                _ = LibC.close(_epfd);
            }
        }
    }

    /// <summary>The handler of a registration, or null when it was freed meanwhile.</summary>
    private IEpollHandler? HandlerOf(IEpollHandler?[] slots, long data)
    {
        var slot = (int)data;
        return (uint)slot < (uint)slots.Length && Volatile.Read(ref _generations[slot]) == (int)(data >> 32) ? slots[slot] : null;
    }

    private void Dispatch(IEpollHandler?[] slots, long data, uint events)
    {
        if (HandlerOf(slots, data) is not { } handler)
        {
            return; // Closed meanwhile.
        }

        try
        {
            // Almost every event is a connection's: called directly, not through the interface's dispatch stub (the
            // call site sees the listener too, so the stub's slow path ran for every event).
            if (handler is EpollSocket socket)
            {
                socket.OnEvents(this, events);
            }
            else
            {
                handler.OnEvents(this, events);
            }
        }
        catch (Exception ex)
        {
            // The application's continuations run inline here; whatever escapes them must not end the loop.
            Log.HandlerFailed(_logger, ex);
        }
    }

    private void CloseDeferred()
    {
        if (!_closesQueued)
        {
            return;
        }

        _closesQueued = false; // Before draining: a close queued from now on sets it again.
        while (_toClose.TryDequeue(out var socket))
        {
            try
            {
                socket.CloseNow();
            }
            catch (Exception ex)
            {
                Log.HandlerFailed(_logger, ex);
            }
        }
    }

    private int NextTimeout()
    {
        if (_closesQueued)
        {
            return 0;
        }

        if (!_firstBytes.TryPeek(out var next))
        {
            return -1;
        }

        return (int)Math.Clamp(next.Deadline - Environment.TickCount64, 0, int.MaxValue);
    }

    /// <summary>
    /// Starts the connections whose first bytes are overdue (their pipeline finds nothing to read and gives up), and
    /// forgets those at the front that no longer wait.
    /// </summary>
    private void StartTimedOut()
    {
        if (_firstBytes.Count == 0)
        {
            return;
        }

        var now = Environment.TickCount64;
        var slots = _slots;
        while (_firstBytes.TryPeek(out var next))
        {
            // A connection that spoke (or closed) since it was queued waits for nothing: dropped at once, so a loop
            // whose new connections have all spoken waits with no time-out (no kernel timer armed for every sleep).
            if (HandlerOf(slots, next.Registration) is not EpollSocket { AwaitsFirstBytes: true } socket)
            {
                _firstBytes.Dequeue();
                continue;
            }

            if (next.Deadline > now)
            {
                break;
            }

            _firstBytes.Dequeue();
            try
            {
                socket.StartIfPending();
            }
            catch (Exception ex)
            {
                Log.HandlerFailed(_logger, ex);
            }
        }

        if (_firstBytes.Count == 0)
        {
            _firstBytes.TrimExcess(); // After a burst of connections: no array sized for it while they idle.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Error, "An epoll event handler failed")]
        public static partial void HandlerFailed(ILogger logger, Exception exception);

        [LoggerMessage(21, LogLevel.Critical, "epoll_wait failed (errno {Errno}); the event loop stops")]
        public static partial void WaitFailed(ILogger logger, int errno);
    }
}
