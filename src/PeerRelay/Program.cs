using PeerRelay.Server.Hosting;

// Placeholder entry point: the full command (System.CommandLine, TOML config, TLS, log files) replaces it.
var port = args.Length > 1 && args[0] == "--port" ? args[1] : "8700";
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls($"http://0.0.0.0:{port}");
builder.Services.AddPeerRelay();
var app = builder.Build();
app.UseWebSockets();
app.MapPeerRelay();
await app.RunAsync();
