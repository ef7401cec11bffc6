using System.Security.Cryptography;
using System.Text;
using PeerRelay.Server.Internal.WebSockets;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>The managed SHA-1 of the accept key against the platform's, and against FIPS 180's own examples.</summary>
public sealed class Sha1Tests
{
    [Theory]
    [InlineData("", "da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    [InlineData("abc", "a9993e364706816aba3e25717850c26c9cd0d89d")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1")]
    public void HashData_FipsExamples_MatchTheStandard(string input, string expected)
    {
        var hash = new byte[Sha1.HashLength];
        Sha1.HashData(Encoding.ASCII.GetBytes(input), hash);
        Assert.Equal(expected, Convert.ToHexStringLower(hash));
    }

    [Fact]
    public void HashData_EveryLengthUpTo300_MatchesThePlatform()
    {
        // Every way the padding falls: empty, within one block, across the 55/56-byte boundary, several blocks.
        var random = new Random(17);
        var hash = new byte[Sha1.HashLength];
        for (var length = 0; length <= 300; length++)
        {
            var input = new byte[length];
            random.NextBytes(input);
            Sha1.HashData(input, hash);
#pragma warning disable CA5350 // The reference the managed hash is checked against.
            Assert.Equal(Convert.ToHexString(SHA1.HashData(input)), Convert.ToHexString(hash));
#pragma warning restore CA5350
        }
    }

    [Fact]
    public void HashData_DestinationTooShort_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Sha1.HashData("abc"u8, new byte[Sha1.HashLength - 1]));
    }
}
