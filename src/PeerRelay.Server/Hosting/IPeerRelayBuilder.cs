using Microsoft.Extensions.DependencyInjection;

namespace PeerRelay.Server.Hosting;

/// <summary>Returned by <see cref="PeerRelayServiceCollectionExtensions.AddPeerRelay"/>; opt-ins chain from it.</summary>
public interface IPeerRelayBuilder
{
    /// <summary>Gets the service collection the relay was added to.</summary>
    IServiceCollection Services { get; }
}
