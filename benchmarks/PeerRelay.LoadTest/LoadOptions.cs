using System.Globalization;
using System.Net;

namespace PeerRelay.LoadTest;

/// <summary>The command line of the load generator. Every option has a default; see <see cref="Usage"/>.</summary>
internal sealed class LoadOptions
{
    public const string Usage = """
        Usage: PeerRelay.LoadTest <connect|forward|churn|abuse> [options]
          --target relay|peerjs   protocol of the server under test (default relay)
          --url ws://HOST:PORT/   server address (default ws://127.0.0.1:8700/); PeerJS uses /peerjs on it;
                                  wss://HOST:PORT/ connects over TLS (a full handshake per connect, see --tls-resume)
          --peer-url ws://H:P/    forward: the answering end of each pair connects here (another node of a fleet)
          --ca FILE               wss: trust only the PEM certificates in FILE (a private CA, or a self-signed
                                  certificate itself) instead of the system's roots; the host name is still checked
          --tls-resume            wss: allow TLS session resumption (default off: every connect is a full handshake)
          --server-pid PID        read the server's CPU time and memory from /proc/PID (optional; repeatable: the
                                  processes of one deployment, e.g. nginx's worker and the relay, are summed)
          --also-pid PID          also read this process's CPU time over the measured window (repeatable: a fleet's
                                  other nodes, Redis); reported per unit in alsoCpuPerUnitUs, in the order given
          --clients N             connect: clients to register (default 1000)
          --concurrency C         connect: connections in flight; churn: parallel cycles (default 64 / 4)
          --hold S                connect: seconds to hold the clients before measuring memory (default 3)
          --pairs P               forward: client pairs ping-ponging (default 10)
          --size B                forward: bytes per message (default 200)
          --warmup S              forward, churn: seconds before measuring (default 2)
          --seconds S             forward, churn: seconds measured (default 5)
          --sources K             loopback source addresses 127.0.0.1..127.0.0.K (default: 1 per 20,000 clients)
          --procs K               split the clients over K load processes (default 1)
          --attack A              abuse: none|unknown-peer|victim-flood|slow-reader|malformed (default none)
          --rate R                abuse: honest round trips per second over all pairs (default 200)
          --abusers N             abuse: abusive connections, each reconnecting as soon as it is cut (default 5)
          --baseline S            abuse: seconds measured before the attack (default 5)
          --settle S              abuse: seconds after the attack before checking what it left (default 3)
          --malformed-frames N    abuse: malformed frames sent in all by the malformed attack (default 2000)
          --json-only             print only the JSON line
        """;

    public string Scenario { get; set; } = "";

    public string Target { get; set; } = "relay";

    public Uri Url { get; set; } = new("ws://127.0.0.1:8700/");

    /// <summary>Gets or sets where the answering end of each forward pair connects (another node); null: <see cref="Url"/>.</summary>
    public Uri? PeerUrl { get; set; }

    /// <summary>Gets the processes of the server under test (<c>--server-pid</c>): their CPU time and memory are summed.</summary>
    public List<int> ServerPids { get; } = [];

    /// <summary>Gets or sets the PEM file whose certificates are the only roots trusted for <c>wss://</c> (<c>--ca</c>); null: the system's.</summary>
    public string? CaFile { get; set; }

    /// <summary>Gets or sets a value indicating whether TLS sessions may be resumed (<c>--tls-resume</c>; default: every connect is a full handshake).</summary>
    public bool TlsResume { get; set; }

    /// <summary>Gets the other processes whose CPU time is read over the measured window (<c>--also-pid</c>).</summary>
    public List<int> AlsoPids { get; } = [];

    public int Clients { get; set; } = 1000;

    public int? Concurrency { get; set; }

    public double Hold { get; set; } = 3;

    public int Pairs { get; set; } = 10;

    public int Size { get; set; } = 200;

    public double Warmup { get; set; } = 2;

    public double Seconds { get; set; } = 5;

    public int? Sources { get; set; }

    public int Procs { get; set; } = 1;

    public bool JsonOnly { get; set; }

    public string Attack { get; set; } = "none";

    /// <summary>Gets or sets a value indicating whether this process is the abuse scenario's attacker child.</summary>
    public bool Attacker { get; set; }

    public double Rate { get; set; } = 200;

    public int Abusers { get; set; } = 5;

    public double Baseline { get; set; } = 5;

    public double Settle { get; set; } = 3;

    public int MalformedFrames { get; set; } = 2000;

    /// <summary>Gets or sets this process's index when it was spawned by a coordinator (-1: not a child).</summary>
    public int ChildIndex { get; set; } = -1;

    public bool IsPeerJs => Target == "peerjs";

    public int EffectiveConcurrency => Concurrency ?? (Scenario == "churn" ? 4 : 64);

    /// <summary>Gets the number of source addresses: enough that none needs more than 20,000 ephemeral ports.</summary>
    public int EffectiveSources => Sources ?? Math.Max(1, (Scenario == "connect" ? Clients : 0) / 20_000 + 1);

    public IPEndPoint ServerEndPoint
    {
        get
        {
            var address = Url.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(Url.Host);
            return new IPEndPoint(address, Url.Port);
        }
    }

    public static LoadOptions Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            throw new ArgumentException(Usage);
        }

        var o = new LoadOptions { Scenario = args[0] };
        if (o.Scenario is not ("connect" or "forward" or "churn" or "abuse"))
        {
            throw new ArgumentException($"Unknown scenario '{o.Scenario}'.\n{Usage}");
        }

        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--json-only")
            {
                o.JsonOnly = true;
                continue;
            }

            if (name == "--attacker")
            {
                o.Attacker = true;
                continue;
            }

            if (name == "--tls-resume")
            {
                o.TlsResume = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"Option {name} needs a value.");
            }

            var value = args[++i];
            switch (name)
            {
                case "--target":
                    o.Target = value is "relay" or "peerjs" ? value : throw new ArgumentException("--target must be relay or peerjs.");
                    break;
                case "--url":
                    o.Url = WebSocketUrl(name, value);
                    break;
                case "--peer-url":
                    o.PeerUrl = WebSocketUrl(name, value);
                    break;
                case "--server-pid":
                    o.ServerPids.Add(Int(name, value, 1));
                    break;
                case "--ca":
                    o.CaFile = File.Exists(value) ? value : throw new ArgumentException($"--ca: no file {value}.");
                    break;
                case "--also-pid":
                    o.AlsoPids.Add(Int(name, value, 1));
                    break;
                case "--clients":
                    o.Clients = Int(name, value, 1);
                    break;
                case "--concurrency":
                    o.Concurrency = Int(name, value, 1);
                    break;
                case "--hold":
                    o.Hold = Double(name, value);
                    break;
                case "--pairs":
                    o.Pairs = Int(name, value, 1);
                    break;
                case "--size":
                    o.Size = Int(name, value, 64);
                    break;
                case "--warmup":
                    o.Warmup = Double(name, value);
                    break;
                case "--seconds":
                    o.Seconds = Double(name, value);
                    break;
                case "--sources":
                    o.Sources = Int(name, value, 1);
                    break;
                case "--procs":
                    o.Procs = Int(name, value, 1);
                    break;
                case "--child-index":
                    o.ChildIndex = Int(name, value, 0);
                    break;
                case "--attack":
                    o.Attack = value is "none" or "unknown-peer" or "victim-flood" or "slow-reader" or "malformed"
                        ? value
                        : throw new ArgumentException("--attack must be none, unknown-peer, victim-flood, slow-reader or malformed.");
                    break;
                case "--rate":
                    o.Rate = Double(name, value);
                    break;
                case "--abusers":
                    o.Abusers = Int(name, value, 1);
                    break;
                case "--baseline":
                    o.Baseline = Double(name, value);
                    break;
                case "--settle":
                    o.Settle = Double(name, value);
                    break;
                case "--malformed-frames":
                    o.MalformedFrames = Int(name, value, 1);
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{name}'.\n{Usage}");
            }
        }

        return o;
    }

    /// <summary>Returns this process's share of <paramref name="total"/> when the work is split over the processes.</summary>
    public int ShareOf(int total)
    {
        if (ChildIndex < 0)
        {
            return total;
        }

        return total / Procs + (ChildIndex < total % Procs ? 1 : 0);
    }

    private static int Int(string name, string value, int min)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < min)
        {
            throw new ArgumentException($"{name} must be an integer >= {min}, not '{value}'.");
        }

        return n;
    }

    private static Uri WebSocketUrl(string name, string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "ws" or "wss"
            ? url
            : throw new ArgumentException($"{name} must be a ws:// or wss:// URL, not '{value}'.");

    private static double Double(string name, string value)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || d < 0)
        {
            throw new ArgumentException($"{name} must be a number >= 0, not '{value}'.");
        }

        return d;
    }
}
