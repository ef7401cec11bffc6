using PeerRelay.Server.Hosting;

// benchmarks/PeerRelay.BenchServer --port P: the relay with the message rate limit off, logging at Warning.
var port = args.Length > 1 && args[0] == "--port" ? args[1] : "8700";
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls($"http://0.0.0.0:{port}");
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddPeerRelay(o => o.MessageRate = 0);
var app = builder.Build();
app.UseWebSockets();
app.MapPeerRelay();
await app.RunAsync();
