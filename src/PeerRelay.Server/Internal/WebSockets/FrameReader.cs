using System.Buffers;
using System.Runtime.InteropServices;
using PeerRelay.Internal;

namespace PeerRelay.Server.Internal.WebSockets;

/// <summary>What <see cref="FrameReader.Next"/> found.</summary>
internal enum FrameStep
{
    /// <summary>The buffer is used up; read more.</summary>
    NeedMore,

    /// <summary>A whole data message is in <see cref="FrameReader.Message"/>.</summary>
    Message,

    /// <summary>A control frame is in <see cref="FrameReader.ControlPayload"/>.</summary>
    Control,

    /// <summary>The message is over the size limit (<see cref="FrameReader.MessageSize"/>); stop reading.</summary>
    TooLarge,

    /// <summary>The input breaks RFC 6455 (<see cref="FrameReader.ErrorCode"/>, <see cref="FrameReader.Problem"/>); stop reading.</summary>
    Error,
}

/// <summary>
/// Turns a client's byte stream into messages and control frames (RFC 6455): reassembles fragments, unmasks payloads
/// into one pooled buffer per message, checks the size limit from the frame headers before reading a payload, and
/// checks that text is UTF-8. A message of one frame that arrived whole in one array (the usual message) is unmasked
/// where it is instead, and <see cref="Message"/> is the input's own array: valid until the input is read on, so a
/// consumer that keeps it longer (a throttled message) copies it. Holds no buffer between messages. One per
/// connection, used by its receive loop only.
/// </summary>
internal struct FrameReader(int limit) : IDisposable
{
    private readonly int _limit = limit;
    private FrameHeader _frame;
    private bool _inFrame;
    private long _frameRead;
    private bool _inMessage;
    private byte[]? _message;
    private bool _borrowed; // _message is the input's array (a whole frame unmasked in place), not a pooled buffer of ours.
    private byte[]? _control;

    /// <summary>Gets the size limit of a message, in bytes.</summary>
    public readonly int Limit => _limit;

    /// <summary>
    /// Gets the array holding the current message from <see cref="MessageOffset"/> on (valid until
    /// <see cref="ResetMessage"/>, and only until the input is read on when it is the input's own).
    /// </summary>
    public readonly byte[] Message => _message ?? [];

    /// <summary>Gets where the current message starts in <see cref="Message"/>.</summary>
    public int MessageOffset { get; private set; }

    /// <summary>Gets the current message's length in bytes.</summary>
    public int MessageLength { get; private set; }

    /// <summary>Gets the current message's opcode (text or binary).</summary>
    public WebSocketOpcode MessageOpcode { get; private set; }

    /// <summary>Gets the size of a message refused as too large.</summary>
    public long MessageSize { get; private set; }

    /// <summary>Gets the last control frame's opcode.</summary>
    public WebSocketOpcode ControlOpcode { get; private set; }

    /// <summary>Gets the last control frame's payload (valid until the next call to <see cref="Next"/>).</summary>
    public readonly ReadOnlySpan<byte> ControlPayload => _control is null ? [] : _control.AsSpan(0, ControlLength);

    /// <summary>Gets the close code for an <see cref="FrameStep.Error"/>: 1002 (protocol error) or 1007 (invalid UTF-8).</summary>
    public int ErrorCode { get; private set; }

    /// <summary>Gets what was wrong, for an <see cref="FrameStep.Error"/>.</summary>
    public string Problem { get; private set; } = string.Empty;

    private int ControlLength { get; set; }

    /// <summary>Consumes input from <paramref name="buffer"/> up to the next message or control frame.</summary>
    public FrameStep Next(ref ReadOnlySequence<byte> buffer)
    {
        while (true)
        {
            if (!_inFrame)
            {
                var status = WebSocketFrame.TryReadHeader(buffer, out var header, out var problem);
                if (status == FrameHeaderStatus.Incomplete)
                {
                    return FrameStep.NeedMore;
                }

                if (status == FrameHeaderStatus.ProtocolError)
                {
                    return Fail(1002, problem);
                }

                if ((byte)header.Opcode >= 0x8)
                {
                    return ReadControl(ref buffer, header);
                }

                if (header.Opcode == WebSocketOpcode.Continuation != _inMessage)
                {
                    return Fail(1002, _inMessage ? "A new message began before the previous one ended." : "A continuation frame without a message.");
                }

                var size = (_inMessage ? MessageLength : 0) + header.PayloadLength;
                if (size > _limit)
                {
                    MessageSize = size;
                    return FrameStep.TooLarge;
                }

                if (!_inMessage && header.Fin && TryUnmaskInPlace(ref buffer, header, out var whole))
                {
                    return whole;
                }

                if (!_inMessage)
                {
                    _inMessage = true;
                    MessageOpcode = header.Opcode;
                    MessageLength = 0;
                    MessageOffset = 0;
                }

                EnsureCapacity((int)size);
                _frame = header;
                _inFrame = true;
                _frameRead = 0;
                buffer = buffer.Slice(header.HeaderLength);
            }

            var remaining = _frame.PayloadLength - _frameRead;
            if (remaining > 0)
            {
                if (buffer.IsEmpty)
                {
                    return FrameStep.NeedMore;
                }

                var count = (int)Math.Min(remaining, buffer.Length);
                WebSocketFrame.Unmask(buffer.Slice(0, count), _message.AsSpan(MessageLength), _frame.Mask, _frameRead);
                MessageLength += count;
                _frameRead += count;
                buffer = buffer.Slice(count);
                if (_frameRead < _frame.PayloadLength)
                {
                    return FrameStep.NeedMore;
                }
            }

            _inFrame = false;
            if (!_frame.Fin)
            {
                continue;
            }

            return EndOfMessage();
        }
    }

    /// <summary>
    /// The usual step of <see cref="Next"/>, for input in an array (direct reads) with no message in progress: a data
    /// message of one frame, whole from <paramref name="start"/> on, is unmasked where it is and <paramref name="start"/>
    /// moves past it (<paramref name="step"/>: <see cref="FrameStep.Message"/>, or <see cref="FrameStep.Error"/> for text
    /// that is not UTF-8). False, with nothing consumed or changed, for anything else (a fragment, a control frame, an
    /// incomplete, refused or too large frame): <see cref="Next"/> takes it from there, without the sequence this spares.
    /// </summary>
    public bool TryNextWhole(byte[] buffer, ref int start, int end, out FrameStep step)
    {
        step = FrameStep.NeedMore;
        var available = end - start;
        if (_inFrame || _inMessage
            || WebSocketFrame.TryReadHeader(buffer.AsSpan(start, available), out var header, out _) != FrameHeaderStatus.Complete
            || !header.Fin || header.Opcode is not (WebSocketOpcode.Text or WebSocketOpcode.Binary)
            || header.PayloadLength > _limit || header.PayloadLength > available - header.HeaderLength)
        {
            return false;
        }

        start += header.HeaderLength + (int)header.PayloadLength;
        step = BorrowWhole(buffer, start - (int)header.PayloadLength, header);
        return true;
    }

    /// <summary>Returns the current message's buffer; the next message starts empty.</summary>
    public void ResetMessage()
    {
        if (_message is not null)
        {
            if (!_borrowed)
            {
                ThreadBufferCache.Return(_message);
            }

            _message = null;
            _borrowed = false;
        }

        _inMessage = false;
        MessageLength = 0;
        MessageOffset = 0;
    }

    /// <summary>Returns the last control frame's buffer, so that an idle connection holds none.</summary>
    public void ReleaseControl()
    {
        if (_control is not null)
        {
            ThreadBufferCache.Return(_control);
            _control = null;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        ResetMessage();
        ReleaseControl();
    }

    /// <summary>
    /// A message of one frame whose payload is all in the input's first segment, an array: unmasked where it is, and
    /// the message is that array (no copy, no buffer of ours).
    /// </summary>
    private bool TryUnmaskInPlace(ref ReadOnlySequence<byte> buffer, in FrameHeader header, out FrameStep step)
    {
        var total = header.HeaderLength + header.PayloadLength;
        if (buffer.First.Length < total || !MemoryMarshal.TryGetArray(buffer.First, out var segment))
        {
            step = FrameStep.NeedMore;
            return false;
        }

        step = BorrowWhole(segment.Array!, segment.Offset + header.HeaderLength, header);
        buffer = buffer.Slice(total);
        return true;
    }

    /// <summary>A whole one-frame message at <paramref name="offset"/> in <paramref name="array"/>: unmasked there, and the message is that array.</summary>
    private FrameStep BorrowWhole(byte[] array, int offset, in FrameHeader header)
    {
        var length = (int)header.PayloadLength;
        WebSocketFrame.UnmaskInPlace(array.AsSpan(offset, length), header.Mask);
        _inMessage = true;
        _borrowed = true;
        _message = array;
        MessageOpcode = header.Opcode;
        MessageOffset = offset;
        MessageLength = length;
        return EndOfMessage();
    }

    private FrameStep ReadControl(ref ReadOnlySequence<byte> buffer, in FrameHeader header)
    {
        // Control frames are small (at most 125 bytes) and never fragmented: wait until the whole frame is in.
        var total = header.HeaderLength + header.PayloadLength;
        if (buffer.Length < total)
        {
            return FrameStep.NeedMore;
        }

        _control ??= ThreadBufferCache.Rent(WebSocketFrame.MaxControlPayload);
        ControlLength = (int)header.PayloadLength;
        WebSocketFrame.Unmask(buffer.Slice(header.HeaderLength, header.PayloadLength), _control, header.Mask, 0);
        ControlOpcode = header.Opcode;
        buffer = buffer.Slice(total);
        return FrameStep.Control;
    }

    private void EnsureCapacity(int size)
    {
        if (_message is null)
        {
            _message = ThreadBufferCache.Rent(Math.Max(size, 256));
            return;
        }

        if (_message.Length >= size)
        {
            return;
        }

        var bigger = ThreadBufferCache.Rent(Math.Max(size, Math.Min(_message.Length * 2, _limit)));
        _message.AsSpan(0, MessageLength).CopyTo(bigger);
        ThreadBufferCache.Return(_message);
        _message = bigger;
    }

    /// <summary>A whole message: text must be UTF-8.</summary>
    private FrameStep EndOfMessage() =>
        MessageOpcode == WebSocketOpcode.Text && !System.Text.Unicode.Utf8.IsValid(_message.AsSpan(MessageOffset, MessageLength))
            ? Fail(1007, "Text message is not valid UTF-8.")
            : FrameStep.Message;

    private FrameStep Fail(int code, string problem)
    {
        ErrorCode = code;
        Problem = problem;
        return FrameStep.Error;
    }
}
