using System.Threading.Tasks.Sources;

namespace PeerRelay.Transport.Internal;

/// <summary>
/// The one pending operation (a read, a flush) of a <see cref="SocketPipeReader"/> or <see cref="SocketPipeWriter"/>:
/// the reusable awaitable its caller holds, whether it is pending, and the caller's cancellation. A mutable struct
/// kept in a field of its owner; <see cref="Begin"/>, <see cref="TryEnd"/> and <see cref="Cancel"/>'s state change
/// run under the owner's lock, the results are published outside it (the caller's continuation runs inline).
/// </summary>
/// <typeparam name="TResult">The operation's result.</typeparam>
internal struct PendingOperation<TResult>
{
    private ManualResetValueTaskSourceCore<TResult> _core;
    private CancellationTokenRegistration _cancellation;

    /// <summary>Gets a value indicating whether the operation is pending (under the owner's lock).</summary>
    public bool IsPending { get; private set; }

    /// <summary>Gets the version the caller's <see cref="ValueTask{TResult}"/> is made with.</summary>
    public readonly short Version => _core.Version;

    /// <summary>Starts the operation (under the owner's lock).</summary>
    public void Begin()
    {
        IsPending = true;
        _core.Reset();
    }

    /// <summary>Ends the operation when <paramref name="token"/> is cancelled: <paramref name="onCancelled"/> (given <paramref name="owner"/>) calls <see cref="Cancel"/>.</summary>
    public void CancelOn(object owner, Action<object?, CancellationToken> onCancelled, CancellationToken token)
    {
        if (token.CanBeCanceled)
        {
            _cancellation = token.UnsafeRegister(onCancelled, owner);
        }
    }

    /// <summary>Ends the operation if it is pending (under the owner's lock); the caller then publishes its outcome.</summary>
    public bool TryEnd()
    {
        if (!IsPending)
        {
            return false;
        }

        IsPending = false;
        _cancellation.Unregister(); // Not Dispose: that would wait for a running callback, which waits for the lock.
        _cancellation = default;
        return true;
    }

    /// <summary>The caller's token was cancelled: the pending operation fails with <see cref="OperationCanceledException"/>.</summary>
    public void Cancel(object sync, CancellationToken token)
    {
        lock (sync)
        {
            if (!TryEnd())
            {
                return;
            }
        }

        _core.SetException(new OperationCanceledException(token));
    }

    public void SetResult(TResult result) => _core.SetResult(result);

    public void SetException(Exception error) => _core.SetException(error);

    public TResult GetResult(short token) => _core.GetResult(token);

    public readonly ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
