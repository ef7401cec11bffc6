using System.Buffers;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>Builds a <see cref="ReadOnlySequence{T}"/> of several segments, as a pipe hands out data that came in pieces.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>One segment per part, in order; empty parts become empty segments.</summary>
    public static ReadOnlySequence<byte> Of(params byte[][] parts)
    {
        if (parts.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segments(parts[0], 0);
        var last = first;
        for (var i = 1; i < parts.Length; i++)
        {
            var next = new Segments(parts[i], last.RunningIndex + last.Memory.Length);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Cuts <paramref name="bytes"/> into segments of the given lengths (the last one takes the rest).</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, params int[] lengths)
    {
        var parts = new List<byte[]>();
        var offset = 0;
        foreach (var length in lengths)
        {
            parts.Add(bytes[offset..(offset + length)]);
            offset += length;
        }

        parts.Add(bytes[offset..]);
        return Of([.. parts]);
    }
}
