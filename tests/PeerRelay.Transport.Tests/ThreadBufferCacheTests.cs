using PeerRelay.Internal;

namespace PeerRelay.Transport.Tests;

/// <summary>
/// <see cref="ThreadBufferCache"/>: the arrays a thread gives back are found again by that thread (the smallest that
/// fits), never by another, and what it does not keep (too large, every slot taken) goes to the shared pool. Each test
/// runs on a thread of its own, whose cache starts empty.
/// </summary>
public sealed class ThreadBufferCacheTests
{
    [Fact]
    public void Rent_AfterReturn_GivesTheSmallestKeptArrayThatFits() => OnNewThread(() =>
    {
        var large = ThreadBufferCache.Rent(4096);
        var small = ThreadBufferCache.Rent(512);
        ThreadBufferCache.Return(large);
        ThreadBufferCache.Return(small);

        Assert.Same(small, ThreadBufferCache.Rent(300));
        Assert.Same(large, ThreadBufferCache.Rent(300));
    });

    [Fact]
    public void Rent_LargerThanEveryKeptArray_ComesFromTheSharedPool() => OnNewThread(() =>
    {
        var kept = ThreadBufferCache.Rent(1024);
        ThreadBufferCache.Return(kept);

        var larger = ThreadBufferCache.Rent(8192);

        Assert.NotSame(kept, larger);
        Assert.True(larger.Length >= 8192);
        Assert.Same(kept, ThreadBufferCache.Rent(1)); // Still kept for the next small one.
    });

    [Fact]
    public void Return_OverMaxLength_IsNotKept() => OnNewThread(() =>
    {
        var huge = new byte[ThreadBufferCache.MaxLength * 2];
        ThreadBufferCache.Return(huge);

        Assert.NotSame(huge, ThreadBufferCache.Rent(100));
    });

    [Fact]
    public void Return_EverySlotTaken_GoesToTheSharedPool() => OnNewThread(() =>
    {
        var arrays = Enumerable.Range(0, 7).Select(_ => new byte[1024]).ToArray();
        foreach (var array in arrays)
        {
            ThreadBufferCache.Return(array);
        }

        // Six slots: the first six come back; the seventh went to the pool, not over one of them.
        var rented = Enumerable.Range(0, 6).Select(_ => ThreadBufferCache.Rent(1024)).ToArray();
        Assert.Equal(arrays.Take(6).ToHashSet(ReferenceEqualityComparer.Instance), rented.ToHashSet(ReferenceEqualityComparer.Instance));
    });

    [Fact]
    public void Rent_OnAnotherThread_DoesNotSeeThisThreadsArrays()
    {
        byte[]? returned = null;
        OnNewThread(() =>
        {
            returned = ThreadBufferCache.Rent(2048);
            ThreadBufferCache.Return(returned);
        });

        byte[]? other = null;
        OnNewThread(() => other = ThreadBufferCache.Rent(2048));

        Assert.NotNull(returned);
        Assert.NotSame(returned, other);
    }

    private static void OnNewThread(Action test)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                test();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }
}
