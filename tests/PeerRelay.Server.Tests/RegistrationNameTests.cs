using PeerRelay.Server.Authentication;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Tests;

/// <summary>A registration keeps its name once (the escaped bytes) and gives back exactly the name it was made with.</summary>
public sealed class RegistrationNameTests
{
    [Theory]
    [InlineData("")]
    [InlineData("load")]
    [InlineData("endpoint-7 / node_3")]
    [InlineData("say \"hi\"\\")]
    [InlineData("tab\there\u0001")]
    [InlineData("café ✓ 😀")]
    public void Name_IsTheNameItWasMadeWith(string name)
    {
        var registration = new RelayClientRegistration(Guid.NewGuid(), name, RelayUser.Anonymous);

        Assert.Equal(name, registration.Name);
        Assert.Equal(name, registration.Name); // Made again from the kept bytes: the same text.
    }
}
