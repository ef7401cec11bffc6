using System.Net;
using System.Net.Sockets;

namespace PeerRelay.Testing;

/// <summary>Free TCP ports on loopback, for settings that need a port number before the server starts.</summary>
/// <remarks>
/// Not the kernel's choice for port 0: that comes from the ephemeral range (32768–60999 on Linux), where every outgoing
/// connection also takes its port, and where a port just given up (a Redis master a test killed) is soon handed out
/// again, to another test's server. A fleet whose Redis died then reconnected to a stranger's Redis (seen: "another
/// process holds the node id", a replica's READONLY). Ports here come from below that range, each process walking it
/// from a random start and never returning to a port it handed out; each is checked to be free when handed out.
/// </remarks>
public static class FreePort
{
    private const int First = 10_000;
    private const int Count = 22_000; // 10000–31999.
    private static int s_next = Random.Shared.Next(Count);

    /// <summary>Gets a port that was free a moment ago and that this process has not handed out before.</summary>
    /// <returns>The port.</returns>
    public static int Next()
    {
        for (var attempt = 0; attempt < Count; attempt++)
        {
            var port = First + (int)((uint)Interlocked.Increment(ref s_next) % Count);
            try
            {
                using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // Taken (by another test process): the next one.
            }
        }

        throw new InvalidOperationException($"No free TCP port on 127.0.0.1 in {First}–{First + Count - 1}.");
    }
}
