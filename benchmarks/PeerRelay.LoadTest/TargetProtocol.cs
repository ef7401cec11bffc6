using System.Text;

namespace PeerRelay.LoadTest;

/// <summary>
/// What differs between the servers under test: the connect path, how a client registers, and the shape of a
/// forwarded message. Every forwarded message carries <c>@@T</c> and 16 hex digits of a <see cref="System.Diagnostics.Stopwatch"/>
/// timestamp, so the receiver can measure one hop.
/// </summary>
internal abstract class TargetProtocol
{
    public const int StampDigits = 16;

    public static ReadOnlySpan<byte> StampMarker => "@@T"u8;

    public static TargetProtocol For(LoadOptions options) => options.IsPeerJs ? new PeerJsProtocol() : new RelayProtocol();

    /// <summary>Gets the request path and query a client connects with.</summary>
    public abstract string PathAndQuery(string basePath, string id);

    /// <summary>Gets the message a client sends to register, or null when connecting registers it.</summary>
    public abstract byte[]? Registration(string id);

    /// <summary>Returns whether <paramref name="message"/> is the server's successful answer to a registration.</summary>
    public abstract bool IsRegistered(ReadOnlySpan<byte> message);

    /// <summary>Returns whether <paramref name="message"/> is a forwarded message rather than an error.</summary>
    public abstract bool IsForwarded(ReadOnlySpan<byte> message);

    /// <summary>Builds a message of about <paramref name="size"/> bytes; <paramref name="stampOffset"/> is where the 16 hex digits go.</summary>
    public byte[] Message(string from, string to, bool offer, int size, out int stampOffset)
    {
        var (head, tail) = Parts(from, to, offer);
        var fixedLength = Encoding.UTF8.GetByteCount(head) + StampMarker.Length + StampDigits + Encoding.UTF8.GetByteCount(tail);
        var padding = Math.Max(0, size - fixedLength);
        var text = head + "@@T" + new string('0', StampDigits) + new string('x', padding) + tail;
        stampOffset = Encoding.UTF8.GetByteCount(head) + StampMarker.Length;
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>The message text before and after the payload string's content.</summary>
    protected abstract (string Head, string Tail) Parts(string from, string to, bool offer);

    /// <summary>Writes <paramref name="timestamp"/> as 16 hex digits at <paramref name="offset"/>.</summary>
    public static void Stamp(byte[] message, int offset, long timestamp)
    {
        ((ulong)timestamp).TryFormat(message.AsSpan(offset, StampDigits), out _, "X16");
    }

    /// <summary>Reads the timestamp a message carries, or -1.</summary>
    public static long ReadStamp(ReadOnlySpan<byte> message)
    {
        var at = message.IndexOf(StampMarker);
        if (at < 0 || at + StampMarker.Length + StampDigits > message.Length)
        {
            return -1;
        }

        var digits = message.Slice(at + StampMarker.Length, StampDigits);
        return ulong.TryParse(digits, System.Globalization.NumberStyles.HexNumber, null, out var value) ? (long)value : -1;
    }
}
