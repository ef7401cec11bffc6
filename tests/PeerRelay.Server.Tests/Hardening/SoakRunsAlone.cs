namespace PeerRelay.Server.Tests.Hardening;

/// <summary>The soak's collection: xunit runs it after the parallel tests, alone, so its memory figures are its own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SoakRunsAlone
{
    public const string Name = "Soak (runs alone)";
}
