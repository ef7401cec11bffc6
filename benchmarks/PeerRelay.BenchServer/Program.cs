using PeerRelay.Server.Hosting;

// benchmarks/PeerRelay.BenchServer --port P: the relay with logging at Warning and the abuse limits that a load test
// exceeds by design lifted: the per-connection message rate (a closed loop), and the connection caps (every load
// client comes from a few loopback addresses, and the connect case holds 19,000).
var port = args.Length > 1 && args[0] == "--port" ? args[1] : "8700";
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseKestrel(k => k.ListenAnyIP(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), l => l.UsePeerRelay()));
if (Environment.GetEnvironmentVariable("PEERRELAY_INLINE") == "1")
{
    builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
}

builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddPeerRelay(o =>
{
    o.MessageRate = 0;
    o.MaxConnections = 1_000_000;
    o.MaxConnectionsPerIp = 1_000_000;
});
var app = builder.Build();
app.UseWebSockets();
app.MapPeerRelay();
await app.RunAsync();
