namespace PeerRelay.Client.Internal;

/// <summary>One encoded message waiting for a registered connection, and the task its sender awaits.</summary>
internal sealed class PendingSend
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PendingSend(byte[] utf8Json) => Utf8Json = utf8Json;

    public byte[] Utf8Json { get; }

    public Task Completion => _done.Task;

    /// <summary>Gets a value indicating whether the sender gave up (cancelled) or the message was already settled.</summary>
    public bool IsSettled => _done.Task.IsCompleted;

    public void Written() => _done.TrySetResult();

    public void Fail(Exception error) => _done.TrySetException(error);

    public void Cancel(CancellationToken cancellationToken) => _done.TrySetCanceled(cancellationToken);
}
