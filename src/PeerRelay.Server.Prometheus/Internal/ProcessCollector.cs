using System.Diagnostics;
using Prometheus;

namespace PeerRelay.Server.Prometheus.Internal;

/// <summary>
/// The process's own figures, read at each scrape from sources that cost the same whatever the relay holds. Not
/// prometheus-net's <c>DotNetStats</c>: its <c>process_open_handles</c> (<c>Process.HandleCount</c>) lists
/// <c>/proc/self/fd</c> and stats every entry, two system calls per open socket: about 80 ms of CPU per scrape with
/// 10,000 clients (benchmarks/results, metrics-scrape).
/// </summary>
internal sealed class ProcessCollector
{
    private readonly Counter _cpu;
    private readonly Gauge _workingSet;
    private readonly Gauge _threads;
    private readonly Gauge _managed;
    private readonly Counter _collections;

    public ProcessCollector(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        _cpu = factory.CreateCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
        _workingSet = factory.CreateGauge("process_working_set_bytes", "Process working set (resident memory), in bytes.");
        _threads = factory.CreateGauge("process_num_threads", "Threads of the process.");
        _managed = factory.CreateGauge("dotnet_total_memory_bytes", "Bytes of the managed heap in use (GC.GetTotalMemory).");
        _collections = factory.CreateCounter("dotnet_collection_count_total", "Garbage collections since the process started, by generation.", "generation");
        factory.CreateGauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.")
            .Set((Process.GetCurrentProcess().StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds);
        registry.AddBeforeCollectCallback(Update);
    }

    private void Update()
    {
        _cpu.IncTo(Environment.CpuUsage.TotalTime.TotalSeconds);
        _workingSet.Set(Environment.WorkingSet);
        _managed.Set(GC.GetTotalMemory(forceFullCollection: false));
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            _collections.WithLabels(generation.ToString(System.Globalization.CultureInfo.InvariantCulture)).IncTo(GC.CollectionCount(generation));
        }

        _threads.Set(ThreadCount());
    }

    /// <summary>The <c>Threads:</c> line of <c>/proc/self/status</c> (one small file), or the managed count elsewhere.</summary>
    private static int ThreadCount()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/self/status"))
                {
                    if (line.StartsWith("Threads:", StringComparison.Ordinal) && int.TryParse(line.AsSpan(8).Trim(), out var threads))
                    {
                        return threads;
                    }
                }
            }
            catch (IOException)
            {
            }
        }

        return ThreadPool.ThreadCount;
    }
}
