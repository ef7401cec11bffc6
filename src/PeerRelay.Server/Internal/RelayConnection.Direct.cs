using System.Buffers;
using System.Net.Sockets;
using PeerRelay.Internal;

namespace PeerRelay.Server.Internal;

/// <summary>
/// The receive pump over direct reads (<see cref="PeerRelay.Transport.IDirectReceiveFeature"/>, offered by PeerRelay's
/// socket transports when no TLS layer sits on the connection): the pump receives from the socket into a buffer of the
/// thread's own, parses the frames straight from it and hands each message to the router, as
/// <see cref="Receive"/> does over the pipe, without a pipe read, result or sequence per message. Only what cannot be
/// handled at once stays with the connection (<see cref="_unread"/>): the start of a frame whose rest has not arrived,
/// or what follows a message that has to wait. An idle client holds no buffer.
/// </summary>
internal sealed partial class RelayConnection
{
    /// <summary>Bytes one direct read asks for (the transport's read buffer size).</summary>
    private const int DirectReadSize = 4096;

    private byte[]? _unread; // The rest of a read the pump has not handled yet; null when none (an idle client).
    private int _unreadStart;
    private int _unreadEnd;
    private bool _unreadIncomplete; // _unread ends inside a frame: receive more before parsing it again.
    // The last receive took less than it could: wait before receiving again (kept across a message's wait). The transport
    // knows it too and declines a wait that is not due; this copy only spares the readiness callback's pump one call
    // (and one lock) per message: after the callback it is false, so the pump receives at once.
    private bool _drained;

    /// <summary>
    /// The direct pump: finishes what it waited for, handles what a wait left unread, then receives and handles until a
    /// receive or a message must wait (it returns; the transport's callback or the message's continuation calls it
    /// again) or reading stops (the receive ends).
    /// </summary>
    private void ReceiveDirect()
    {
        if (_waiting != ReceiveWait.Message)
        {
            _drained = false; // The transport's callback: the socket has become readable.
        }

        PumpDirect();
    }

    /// <summary>The body of <see cref="ReceiveDirect"/>.</summary>
    private void PumpDirect()
    {
        var direct = _direct!;
        byte[]? scratch = null;
        try
        {
            var step = ResumeWait();
            while (step == ReceiveStep.Continue)
            {
                byte[] buffer;
                int start;
                int end;
                if (_unread is { } unread && !_unreadIncomplete)
                {
                    // What followed a message that waited: handle it before receiving more.
                    (buffer, start, end) = (unread, _unreadStart, _unreadEnd);
                    _unread = null;
                }
                else
                {
                    if (_drained)
                    {
                        // The last receive took less than it could: the kernel held no more then, so wait, without a
                        // receive that would only say "would block" (the wait still catches bytes that came meanwhile).
                        _turn = 0;
                        if (direct.WaitReadable())
                        {
                            return;
                        }

                        _drained = false;
                    }

                    if (_unread is not null)
                    {
                        (buffer, start, end) = TakeIncomplete();
                    }
                    else
                    {
                        (buffer, start, end) = (scratch ??= ThreadBufferCache.Rent(DirectReadSize), 0, 0);
                    }

                    var room = buffer.Length - end;
                    var received = direct.Receive(buffer.AsSpan(end), out var outcome);
                    if (outcome != SocketError.Success)
                    {
                        KeepUnread(buffer, start, end, incomplete: true, scratch);
                        if (outcome is not (SocketError.WouldBlock or SocketError.Interrupted))
                        {
                            throw new IOException($"Receiving failed: {outcome}.", new SocketException((int)outcome));
                        }

                        _drained = outcome == SocketError.WouldBlock;
                        continue;
                    }

                    if (received == 0)
                    {
                        KeepUnread(buffer, start, end, incomplete: true, scratch);
                        step = OnPeerFinished();
                        break;
                    }

                    end += received;
                    _drained = received < room;
                }

                step = OnDirectRead(buffer, start, end, scratch);
            }

            if (step == ReceiveStep.Stop)
            {
                EndReceive(null);
            }
        }
        catch (Exception ex)
        {
            EndReceive(ex);
        }
        finally
        {
            if (scratch is not null)
            {
                ThreadBufferCache.Return(scratch);
            }
        }
    }

    /// <summary>Handles the frames in <paramref name="buffer"/> from <paramref name="start"/> to <paramref name="end"/>.</summary>
    private ReceiveStep OnDirectRead(byte[] buffer, int start, int end, byte[]? scratch)
    {
        Volatile.Write(ref _pingOutstandingSince, 0);
        var rest = start;
        var frames = HandleFrames(buffer, ref rest, end, out var pending);
        if (frames == FramesStep.Stop)
        {
            Recycle(buffer, scratch);
            return ReceiveStep.Stop;
        }

        KeepUnread(buffer, rest, end, incomplete: frames == FramesStep.NeedMore, scratch);
        return frames == FramesStep.Pending ? WaitForMessage(pending) : EndOfRead();
    }

    /// <summary>
    /// Keeps <paramref name="buffer"/>'s bytes from <paramref name="start"/> to <paramref name="end"/> for the next turn
    /// of the pump: copied out of the thread's scratch buffer, kept in place in a buffer of the connection's own.
    /// </summary>
    private void KeepUnread(byte[] buffer, int start, int end, bool incomplete, byte[]? scratch)
    {
        if (start == end)
        {
            Recycle(buffer, scratch);
            return;
        }

        if (ReferenceEquals(buffer, scratch))
        {
            var copy = ThreadBufferCache.Rent(Math.Max(end - start, DirectReadSize));
            buffer.AsSpan(start, end - start).CopyTo(copy);
            (buffer, end, start) = (copy, end - start, 0);
        }

        _unread = buffer;
        _unreadStart = start;
        _unreadEnd = end;
        _unreadIncomplete = incomplete;
    }

    /// <summary>Takes the start of an incomplete frame, moved to the front of a buffer with room for a read after it.</summary>
    private (byte[] Buffer, int Start, int End) TakeIncomplete()
    {
        var unread = _unread!;
        var count = _unreadEnd - _unreadStart;
        _unread = null;
        if (unread.Length - count < DirectReadSize)
        {
            var larger = ThreadBufferCache.Rent(count + DirectReadSize);
            unread.AsSpan(_unreadStart, count).CopyTo(larger);
            ThreadBufferCache.Return(unread);
            return (larger, 0, count);
        }

        if (_unreadStart > 0)
        {
            unread.AsSpan(_unreadStart, count).CopyTo(unread);
        }

        return (unread, 0, count);
    }

    /// <summary>Returns a buffer of the connection's own to the pool once handled; the thread's scratch buffer stays.</summary>
    private static void Recycle(byte[] buffer, byte[]? scratch)
    {
        if (!ReferenceEquals(buffer, scratch))
        {
            ThreadBufferCache.Return(buffer);
        }
    }

    /// <summary>Returns what the pump kept unread (the connection has ended).</summary>
    private void ReleaseUnread()
    {
        if (_unread is { } unread)
        {
            _unread = null;
            ThreadBufferCache.Return(unread);
        }
    }
}
