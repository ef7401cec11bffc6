namespace PeerRelay.Testing;

/// <summary>
/// The socket transport the suite runs the relay on: by default what <c>peerrelay serve</c> runs (the epoll transport
/// on Linux, the relay transport elsewhere); <c>PEERRELAY_TEST_TRANSPORT=relay</c> or <c>=epoll</c> runs every test
/// server (<see cref="RelayTestServer"/>, the command's host in-process, <see cref="RelayProcess"/>) on that one
/// instead. Tests that choose a transport themselves keep theirs.
/// </summary>
public static class TestTransport
{
    /// <summary>Gets a value indicating whether the suite runs on the epoll transport.</summary>
    public static bool IsEpoll { get; } = Environment.GetEnvironmentVariable("PEERRELAY_TEST_TRANSPORT") switch
    {
        null or "" => OperatingSystem.IsLinux(),
        var name when name.Equals("epoll", StringComparison.OrdinalIgnoreCase) => true,
        var name when name.Equals("relay", StringComparison.OrdinalIgnoreCase) => false,
        var name => throw new InvalidOperationException($"PEERRELAY_TEST_TRANSPORT=\"{name}\": use \"epoll\" or \"relay\"."),
    };

    /// <summary>Gets the <c>socket_transport</c> value of the suite's transport.</summary>
    public static string Name => IsEpoll ? "epoll" : "relay";
}
