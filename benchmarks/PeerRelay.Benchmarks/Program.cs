using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/PeerRelay.Benchmarks -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(PeerRelay.Benchmarks.CodecBenchmarks).Assembly).Run(args);
