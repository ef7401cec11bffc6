using System.Net;

namespace PeerRelay.LoadTest;

/// <summary>What every scenario needs to open clients: the server, the protocol and the source addresses.</summary>
internal sealed class LoadContext
{
    private readonly IPAddress[] _sources;

    public LoadContext(LoadOptions options)
    {
        Options = options;
        Protocol = TargetProtocol.For(options);
        Server = options.ServerEndPoint;
        Host = $"{options.Url.Host}:{options.Url.Port}";
        BasePath = options.Url.AbsolutePath;
        var peer = options.PeerUrl ?? options.Url;
        PeerServer = new IPEndPoint(peer.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(peer.Host), peer.Port);
        PeerHost = $"{peer.Host}:{peer.Port}";
        Tls = LoadTls.For(options.Url, options);
        PeerTls = options.PeerUrl is null ? Tls : LoadTls.For(peer, options);
        var count = options.EffectiveSources;

        // Source addresses only help on loopback (all of 127.0.0.0/8 is local on Linux).
        _sources = count <= 1 || !IPAddress.IsLoopback(Server.Address)
            ? []
            : Enumerable.Range(1, count).Select(i => new IPAddress([127, 0, 0, (byte)i])).ToArray();
    }

    public LoadOptions Options { get; }

    public TargetProtocol Protocol { get; }

    public IPEndPoint Server { get; }

    public string Host { get; }

    /// <summary>Gets the server the answering end of a forward pair uses (<c>--peer-url</c>; the server by default).</summary>
    public IPEndPoint PeerServer { get; }

    /// <summary>Gets the Host header for <see cref="PeerServer"/>.</summary>
    public string PeerHost { get; }

    public string BasePath { get; }

    /// <summary>Gets the TLS client settings for <see cref="Server"/>: null for <c>ws://</c>.</summary>
    public LoadTls? Tls { get; }

    /// <summary>Gets the TLS client settings for <see cref="PeerServer"/>: null for <c>ws://</c>.</summary>
    public LoadTls? PeerTls { get; }

    /// <summary>Gets the protocol and cipher suite of this process's first TLS handshake, or null (<c>ws://</c>, none yet).</summary>
    public string? NegotiatedTls => Tls?.Negotiated ?? PeerTls?.Negotiated;

    /// <summary>Returns the source address for the client numbered <paramref name="index"/>, or null for the default.</summary>
    public IPAddress? SourceFor(int index) => _sources.Length == 0 ? null : _sources[(index + Math.Max(0, Options.ChildIndex)) % _sources.Length];

    public static string NewId() => Guid.NewGuid().ToString("D");
}
