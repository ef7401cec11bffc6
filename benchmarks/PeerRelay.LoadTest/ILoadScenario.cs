namespace PeerRelay.LoadTest;

/// <summary>One scenario's work in one load process: set up, run with a measured window, then release its clients.</summary>
internal interface ILoadScenario : IAsyncDisposable
{
    /// <summary>Opens what the measured run needs (not measured).</summary>
    Task SetupAsync(CancellationToken cancellationToken = default);

    /// <summary>Runs; calls <paramref name="windowStart"/> and <paramref name="windowEnd"/> around the measured part.</summary>
    Task<WorkerResult> RunAsync(Action windowStart, Action windowEnd, CancellationToken cancellationToken = default);

    public static ILoadScenario Create(LoadContext context) => context.Options.Scenario switch
    {
        "connect" => new ConnectScenario(context),
        "forward" => new ForwardScenario(context),
        _ => new ChurnScenario(context),
    };
}
