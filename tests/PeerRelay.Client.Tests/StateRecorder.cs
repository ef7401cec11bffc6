using PeerRelay.Client;

namespace PeerRelay.Client.Tests;

/// <summary>Records a client's state changes and lets a test await the n-th occurrence of a state.</summary>
internal sealed class StateRecorder
{
    private readonly Lock _lock = new();
    private readonly List<RelayClientStateChangedEventArgs> _events = [];
    private readonly List<(RelayClientState State, int Occurrence, TaskCompletionSource<RelayClientStateChangedEventArgs> Signal)> _waiters = [];

    public StateRecorder(RelayClient client) => client.StateChanged += OnChanged;

    public IReadOnlyList<RelayClientStateChangedEventArgs> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public int Count(RelayClientState state)
    {
        lock (_lock)
        {
            return _events.Count(e => e.State == state);
        }
    }

    /// <summary>Completes when <paramref name="state"/> has been entered <paramref name="occurrence"/> times (1-based).</summary>
    public Task<RelayClientStateChangedEventArgs> WaitFor(RelayClientState state, int occurrence = 1)
    {
        lock (_lock)
        {
            var seen = _events.Where(e => e.State == state).ToList();
            if (seen.Count >= occurrence)
            {
                return Task.FromResult(seen[occurrence - 1]);
            }

            var signal = new TaskCompletionSource<RelayClientStateChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((state, occurrence, signal));
            return signal.Task;
        }
    }

    private void OnChanged(object? sender, RelayClientStateChangedEventArgs e)
    {
        lock (_lock)
        {
            _events.Add(e);
            var count = _events.Count(x => x.State == e.State);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].State == e.State && _waiters[i].Occurrence == count)
                {
                    _waiters[i].Signal.TrySetResult(e);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}
