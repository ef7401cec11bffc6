using System.Net;
using System.Net.Sockets;

namespace PeerRelay.Testing;

/// <summary>Free TCP ports on loopback, for settings that need a port number before the server starts.</summary>
public static class FreePort
{
    /// <summary>Gets a port that was free a moment ago (the kernel's choice for port 0).</summary>
    public static int Next()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
