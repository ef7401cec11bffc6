namespace PeerRelay.Testing;

/// <summary>
/// The socket transport the suite runs the relay on: <c>PEERRELAY_TEST_TRANSPORT=epoll</c> runs every test server
/// (<see cref="RelayTestServer"/>, the command's host in-process, <see cref="RelayProcess"/>) on the epoll transport
/// (<c>socket_transport = "epoll"</c>) instead of the default; tests that choose a transport themselves keep theirs.
/// </summary>
public static class TestTransport
{
    /// <summary>Gets a value indicating whether the suite runs on the epoll transport.</summary>
    public static bool IsEpoll { get; } = string.Equals(Environment.GetEnvironmentVariable("PEERRELAY_TEST_TRANSPORT"), "epoll", StringComparison.OrdinalIgnoreCase);
}
