using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PeerRelay.Transport.Internal.Epoll;

/// <summary>The Linux system calls the epoll transport makes (glibc or musl <c>libc</c>).</summary>
internal static unsafe partial class LibC
{
    /// <summary>The IPv4 address family (<c>AF_INET</c>), first field of a <c>sockaddr_in</c>.</summary>
    public const ushort AfInet = 2;

    /// <summary>The IPv6 address family (<c>AF_INET6</c>).</summary>
    public const ushort AfInet6 = 10;

    public const int EpollCloexec = 0x80000;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int EpollCtlMod = 3;
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;
    public const uint EpollExclusive = 1u << 28;
    public const uint EpollEt = 1u << 31;
    public const int SockNonBlock = 0x800;
    public const int SockCloexec = 0x80000;
    public const int EfdNonBlock = 0x800;
    public const int EfdCloexec = 0x80000;
    public const int MsgNoSignal = 0x4000;
    public const int ShutRd = 0;
    public const int ShutWr = 1;
    public const int ShutRdWr = 2;
    public const int SolSocket = 1;
    public const int SoLinger = 13;
    public const int IpProtoTcp = 6;
    public const int TcpNoDelay = 1;
    public const ulong FionRead = 0x541B;

    public const int EIntr = 4;
    public const int EAgain = 11;
    public const int EBadF = 9;
    public const int ENoMem = 12;
    public const int EMFile = 24;
    public const int ENFile = 23;
    public const int EPipe = 32;
    public const int EConnAborted = 103;
    public const int EConnReset = 104;
    public const int ENoBufs = 105;
    public const int ENotConn = 107;
    public const int ETimedOut = 110;

    /// <summary>Bytes of one <c>struct epoll_event</c>: packed (12) on x86-64, 16 elsewhere.</summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>Offset of <c>data</c> in <c>struct epoll_event</c>.</summary>
    public static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    // No SetLastError: its stub clears errno before every wait and copies it after (two more native calls and a
    // thread-static write per turn of the loop, on the way from the wake-up to the first message). The loop reads errno
    // (Marshal.GetLastSystemError) only when the wait returned -1.
    [LibraryImport("libc")]
    public static partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int accept4(int fd, byte* address, uint* length, int flags);

    // recv and send run on non-blocking sockets only (they never wait) and call nothing managed: without the GC
    // transition each costs a plain call, which is a measurable part of the user time per forwarded message (the
    // message path makes one of each). A GC waits for one to return: microseconds, at most the copy of a socket
    // buffer's worth of bytes. No SetLastError: its stub clears errno before every call and copies it after (two more
    // native calls and a thread-static write per message); the caller reads errno (Marshal.GetLastSystemError) only
    // when the call returned -1, with nothing in between that could change it.
    [LibraryImport("libc")]
    [SuppressGCTransition]
    public static partial nint recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc")]
    [SuppressGCTransition]
    public static partial nint send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getsockname(int fd, byte* address, uint* length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, int* value);

    /// <summary>Adds <paramref name="fd"/> to <paramref name="epfd"/> with <paramref name="events"/> and <paramref name="data"/>; the error number, or 0.</summary>
    public static int EpollAdd(int epfd, int fd, uint events, nint data) => EpollControl(epfd, EpollCtlAdd, fd, events, data);

    /// <summary>Changes the events <paramref name="fd"/> is registered for in <paramref name="epfd"/>; the error number, or 0.</summary>
    public static int EpollModify(int epfd, int fd, uint events, nint data) => EpollControl(epfd, EpollCtlMod, fd, events, data);

    /// <summary>Removes <paramref name="fd"/> from <paramref name="epfd"/> (errors ignored: it may be closed already).</summary>
    public static void EpollDelete(int epfd, int fd)
    {
        byte* ev = stackalloc byte[16];
        _ = epoll_ctl(epfd, EpollCtlDel, fd, ev);
    }

    private static int EpollControl(int epfd, int op, int fd, uint events, nint data)
    {
        byte* ev = stackalloc byte[16];
        *(uint*)ev = events;
        *(long*)(ev + EpollDataOffset) = data;
        return epoll_ctl(epfd, op, fd, ev) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>The socket error a Linux error number means.</summary>
    public static SocketError ToSocketError(int errno) => errno switch
    {
        EAgain => SocketError.WouldBlock,
        EIntr => SocketError.Interrupted,
        EConnReset => SocketError.ConnectionReset,
        EConnAborted => SocketError.ConnectionAborted,
        EPipe => SocketError.Shutdown,
        ENotConn => SocketError.NotConnected,
        ETimedOut => SocketError.TimedOut,
        EBadF => SocketError.OperationAborted,
        ENoBufs or ENoMem => SocketError.NoBufferSpaceAvailable,
        EMFile or ENFile => SocketError.TooManyOpenSockets,
        _ => SocketError.SocketError,
    };

    /// <summary>Reads a <c>sockaddr_in</c> or <c>sockaddr_in6</c>; null for another family.</summary>
    public static IPEndPoint? ToEndPoint(ReadOnlySpan<byte> address)
    {
        var family = MemoryMarshal.Read<ushort>(address);
        var port = (address[2] << 8) | address[3];
        if (family == AfInet)
        {
            return new IPEndPoint(new IPAddress(address.Slice(4, 4)), port);
        }

        if (family == AfInet6)
        {
            var scope = MemoryMarshal.Read<uint>(address[24..]);
            return new IPEndPoint(new IPAddress(address.Slice(8, 16), scope), port);
        }

        return null;
    }
}
