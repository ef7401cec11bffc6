using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using PeerRelay.Server;
using PeerRelay.Server.Admin;

namespace PeerRelay.Benchmarks;

/// <summary>
/// The admin API's token check takes the same time whatever was sent (issue 15: "401 without a timing difference"):
/// no header, a short wrong token, a long one, the right token but its last character, and the right token.
/// </summary>
/// <remarks>dotnet run -c Release --project benchmarks/PeerRelay.Benchmarks -- --filter '*AdminAccess*' --job short</remarks>
[MemoryDiagnoser]
public class AdminAccessBenchmarks
{
    private const string Token = "3f9c2a7e5b1d4c8f9a0e6b2d7c1f4a8e3b9d5c0f7e2a6b1d";

    private AdminAccess _access = null!;
    private DefaultHttpContext _context = null!;

    [Params("none", "wrong-short", "wrong-long", "right-but-last", "right")]
    public string Sent { get; set; } = "none";

    [GlobalSetup]
    public void Setup()
    {
        _access = new AdminAccess(Options.Create(new RelayAdminOptions { Token = Token }));
        _context = new DefaultHttpContext();
        var header = Sent switch
        {
            "wrong-short" => "Bearer x",
            "wrong-long" => "Bearer " + new string('x', 4096),
            "right-but-last" => "Bearer " + Token[..^1] + "0",
            "right" => "Bearer " + Token,
            _ => null,
        };
        if (header is not null)
        {
            _context.Request.Headers.Authorization = header;
        }
    }

    [Benchmark(Baseline = true)]
    public int? Check() => _access.Check(_context);
}
