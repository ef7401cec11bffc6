using Microsoft.Extensions.DependencyInjection;

namespace PeerRelay.Server.Hosting;

internal sealed class PeerRelayBuilder(IServiceCollection services) : IPeerRelayBuilder
{
    public IServiceCollection Services { get; } = services;
}
