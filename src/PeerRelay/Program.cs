using System.CommandLine;
using PeerRelay.Check;
using PeerRelay.Server.Hosting;

// Minimal hook until the full command line lands: `peerrelay check ...` runs the check command.
if (args is ["check", ..])
{
    return await new RootCommand("PeerRelay") { CheckCommand.Create() }.Parse(args).InvokeAsync();
}

// Placeholder entry point: the full command (System.CommandLine, TOML config, TLS, log files) replaces it.
var port = args.Length > 1 && args[0] == "--port" ? args[1] : "8700";
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls($"http://0.0.0.0:{port}");
builder.Services.AddPeerRelay();
var app = builder.Build();
app.UseWebSockets();
app.MapPeerRelay();
await app.RunAsync();
return 0;
