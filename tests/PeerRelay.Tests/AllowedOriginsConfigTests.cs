using PeerRelay.Configuration;

namespace PeerRelay.Tests;

/// <summary>The top-level <c>allowed_origins</c> key.</summary>
public sealed class AllowedOriginsConfigTests
{
    [Fact]
    public void List_IsRead()
    {
        var config = RelayConfigLoader.Parse("allowed_origins = [\"https://app.example.org\", \"http://localhost:3000\"]", "relay.toml");
        Assert.Equal(["https://app.example.org", "http://localhost:3000"], config.Server.AllowedOrigins);
    }

    [Fact]
    public void OneString_IsRead()
    {
        Assert.Equal(["*"], RelayConfigLoader.Parse("allowed_origins = \"*\"", "relay.toml").Server.AllowedOrigins);
    }

    [Fact]
    public void Absent_AllowsAnyOrigin()
    {
        Assert.Empty(RelayConfigLoader.Parse("port = 1", "relay.toml").Server.AllowedOrigins);
    }

    [Theory]
    [InlineData("allowed_origins = 3", "relay.toml: allowed_origins: 3 is not allowed; use a string or an array of strings")]
    [InlineData("allowed_origins = [\"https://a.example\", 4]", "relay.toml: allowed_origins: an array is not allowed; use a string or an array of strings")]
    [InlineData("allowed_origins = [\"app.example.org\"]", "relay.toml: allowed_origins: 'app.example.org' is not an origin; use scheme://host[:port] (e.g. https://app.example.org) or *")]
    public void BadValue_IsReported(string toml, string expected)
    {
        var error = Assert.Throws<RelayConfigException>(() => RelayConfigLoader.Parse(toml, "relay.toml"));
        Assert.Equal(expected, Assert.Single(error.Problems));
    }
}
