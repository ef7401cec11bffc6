using System.Buffers;
using System.Runtime.CompilerServices;

namespace PeerRelay.Internal;

/// <summary>
/// A few byte arrays kept per thread in front of <see cref="ArrayPool{T}.Shared"/>, for the buffers the message path
/// rents and returns on one thread for every message (the receive buffer, the unmasked message, the stamped forward,
/// the send buffer). Their lifetimes overlap, so the shared pool's one array per size per thread misses on every
/// message and takes a per-core stack under its lock; here each of them finds its array again. Arrays over
/// <see cref="MaxLength"/> and those that find every slot taken go to the shared pool. The transport's readers and
/// writers and the relay's connections (PeerRelay.Server) share it.
/// </summary>
internal static class ThreadBufferCache
{
    /// <summary>The largest array kept (larger ones are rare and go to the shared pool).</summary>
    public const int MaxLength = 16 * 1024;

    [ThreadStatic]
    private static Slots? t_slots;

    /// <summary>An array of at least <paramref name="minimumLength"/> bytes: this thread's smallest that fits, else the shared pool's.</summary>
    public static byte[] Rent(int minimumLength)
    {
        if (t_slots is { } slots)
        {
            Span<byte[]?> arrays = slots.Arrays;
            var best = -1;
            var bestLength = int.MaxValue;
            for (var i = 0; i < arrays.Length; i++)
            {
                if (arrays[i] is { } candidate && candidate.Length >= minimumLength && candidate.Length < bestLength)
                {
                    best = i;
                    bestLength = candidate.Length;
                }
            }

            if (best >= 0)
            {
                var array = arrays[best]!;
                arrays[best] = null;
                return array;
            }
        }

        return ArrayPool<byte>.Shared.Rent(minimumLength);
    }

    /// <summary>Gives back an array from <see cref="Rent"/> (or the shared pool), on any thread.</summary>
    public static void Return(byte[] array)
    {
        if (array.Length is > 0 and <= MaxLength)
        {
            Span<byte[]?> arrays = (t_slots ??= new Slots()).Arrays;
            for (var i = 0; i < arrays.Length; i++)
            {
                if (arrays[i] is null)
                {
                    arrays[i] = array;
                    return;
                }
            }
        }

        ArrayPool<byte>.Shared.Return(array);
    }

    /// <summary>One thread's arrays (a class around an inline array: stores into it need no array covariance check).</summary>
    private sealed class Slots
    {
        public SlotArray Arrays;
    }

    [InlineArray(6)]
    private struct SlotArray
    {
        private byte[]? _first;
    }
}
