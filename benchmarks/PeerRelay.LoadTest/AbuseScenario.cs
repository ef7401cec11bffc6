using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PeerRelay.LoadTest;

/// <summary>
/// Honest clients under attack (issue 13). <c>--pairs</c> honest pairs make <c>--rate</c> round trips per second in all
/// (paced, not closed-loop: each pair starts one every pairs/rate seconds), measuring one hop; first for
/// <c>--baseline</c> seconds alone, then for <c>--seconds</c> while <c>--abusers</c> abusive connections attack, each
/// reconnecting as soon as it is cut. Then the abusers stop, and after <c>--settle</c> seconds the run checks that no
/// abuser is still registered and reads the relay's memory. The abusers connect from 127.0.0.2 (another machine, as
/// far as per-address limits go); the honest clients from the default address.
/// </summary>
/// <remarks>
/// A failure is anything an honest client notices: a round trip not answered within <see cref="RoundTripTimeout"/>,
/// an error answer, or being closed. Attacks: <c>unknown-peer</c> floods messages to UUIDs nobody holds;
/// <c>victim-flood</c> floods one registered client that reads everything; <c>slow-reader</c>: one abuser registers
/// and never reads (a 4 KiB receive buffer) while the others flood it; <c>malformed</c> sends
/// <c>--malformed-frames</c> bad frames in all (bad JSON, wrong shape, binary, invalid UTF-8).
/// </remarks>
internal sealed class AbuseScenario(LoadContext context) : IDisposable
{
    private static readonly TimeSpan RoundTripTimeout = TimeSpan.FromSeconds(1);
    private static readonly IPAddress AbuserSource = new([127, 0, 0, 2]);
    private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly List<Pair> _pairs = [];
    private readonly List<string> _abuserIds = [];
    private readonly CancellationTokenSource _stopHonest = new();
    private volatile Phase _phase = Phase.Warmup;
    private long _abuserConnects;
    private long _abuserCuts;
    private long _abuserRefusals;
    private long _abuserMessages;
    private long _malformedLeft;
    private readonly TaskCompletionSource _abusersIn = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private enum Phase
    {
        Warmup,
        Baseline,
        Attack,
        After,
    }

    public void Dispose() => _stopHonest.Dispose();

    public async Task<AbuseReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var options = context.Options;
        var probe = new ServerProbe(options.ServerPids);
        for (var p = 0; p < options.Pairs; p++)
        {
            var a = await LoadClient.ConnectAndRegisterAsync(context, 2 * p, LoadContext.NewId(), cancellationToken);
            var b = await LoadClient.ConnectAndRegisterAsync(context, 2 * p + 1, LoadContext.NewId(), cancellationToken);
            _pairs.Add(new Pair(a, b));
        }

        var period = TimeSpan.FromSeconds(options.Pairs / Math.Max(options.Rate, 0.001));
        var honest = _pairs.Select((pair, i) => Task.Run(() => RunPairAsync(pair, period, period * i / options.Pairs, _stopHonest.Token), CancellationToken.None)).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(options.Warmup), cancellationToken);
        var rssBaseline = probe.RssKiB();
        _phase = Phase.Baseline;
        await Task.Delay(TimeSpan.FromSeconds(options.Baseline), cancellationToken);

        // The abusers run in a child process below this one's priority: they send as fast as they can, and must not
        // take the CPU the honest clients' measurement needs (on a real network they are other machines).
        using var attacker = StartAttacker();
        var attackerStarted = await attacker.StandardOutput.ReadLineAsync(cancellationToken);
        if (attackerStarted != "@ATTACKING")
        {
            throw new InvalidOperationException($"the attacker process did not start: {attackerStarted}");
        }

        _phase = Phase.Attack;
        var cpuStart = probe.Cpu();
        await Task.Delay(TimeSpan.FromSeconds(options.Seconds), cancellationToken);
        var cpuEnd = probe.Cpu();
        var rssPeak = probe.RssKiB();
        _phase = Phase.After;
        var attackLine = await attacker.StandardOutput.ReadLineAsync(cancellationToken);
        await attacker.StandardOutput.ReadToEndAsync(cancellationToken); // Its end: the attacker has exited.
        var counts = JsonSerializer.Deserialize<AttackCounts>(attackLine ?? "null", JsonOptions)
            ?? throw new InvalidOperationException("the attacker process reported nothing");
        _abuserIds.AddRange(counts.LastIds);

        await Task.Delay(TimeSpan.FromSeconds(options.Settle), cancellationToken);
        var left = await CountRegisteredAbusersAsync(cancellationToken);
        GC.Collect();
        var rssAfter = probe.RssKiB();

        await _stopHonest.CancelAsync();
        foreach (var pair in _pairs)
        {
            await pair.A.DisposeAsync();
            await pair.B.DisposeAsync();
        }

        await Task.WhenAll(honest);
        var baseline = new LatencyHistogram();
        var underAttack = new LatencyHistogram();
        foreach (var pair in _pairs)
        {
            baseline.Merge(pair.Latency[(int)Phase.Baseline]);
            underAttack.Merge(pair.Latency[(int)Phase.Attack]);
        }

        return new AbuseReport
        {
            Attack = options.Attack,
            Pairs = options.Pairs,
            Rate = options.Rate,
            Abusers = options.Abusers,
            BaselineSeconds = options.Baseline,
            AttackSeconds = options.Seconds,
            BaselineHops = baseline.Total,
            BaselineP50Us = baseline.Quantile(0.50) / 1000.0,
            BaselineP99Us = baseline.Quantile(0.99) / 1000.0,
            AttackHops = underAttack.Total,
            AttackP50Us = underAttack.Quantile(0.50) / 1000.0,
            AttackP99Us = underAttack.Quantile(0.99) / 1000.0,
            AttackMaxUs = underAttack.Max / 1000.0,
            BaselineFailures = _pairs.Sum(p => p.Failures[(int)Phase.Baseline]),
            AttackFailures = _pairs.Sum(p => p.Failures[(int)Phase.Attack] + p.Failures[(int)Phase.After]),
            FirstFailure = _pairs.Select(p => p.FirstFailure).FirstOrDefault(f => f is not null),
            AbuserConnects = counts.Connects,
            AbuserCuts = counts.Cuts,
            AbuserRefusals = counts.Refusals,
            AbuserMessages = counts.Messages,
            AbusersStillRegistered = left,
            ServerCpuMsDuringAttack = probe.Enabled ? (cpuEnd.User + cpuEnd.System) - (cpuStart.User + cpuStart.System) : null,
            RssBaselineKiB = probe.Enabled ? rssBaseline : null,
            RssAttackKiB = probe.Enabled ? rssPeak : null,
            RssAfterKiB = probe.Enabled ? rssAfter : null,
        };
    }

    private async Task RunPairAsync(Pair pair, TimeSpan period, TimeSpan offset, CancellationToken stop)
    {
        var toB = context.Protocol.Message(pair.A.Id, pair.B.Id, offer: true, context.Options.Size, out var offsetB);
        var toA = context.Protocol.Message(pair.B.Id, pair.A.Id, offer: false, context.Options.Size, out var offsetA);
        var answered = new SemaphoreSlim(0);
        var echo = Task.Run(() => ReceiveLoopAsync(pair, pair.B, toA, offsetA, null, stop), CancellationToken.None);
        var back = Task.Run(() => ReceiveLoopAsync(pair, pair.A, null, 0, answered, stop), CancellationToken.None);
        var next = Stopwatch.GetTimestamp() + (long)(offset.TotalSeconds * Stopwatch.Frequency);
        try
        {
            while (!stop.IsCancellationRequested && !pair.Dead)
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, stop);
                }

                next += (long)(period.TotalSeconds * Stopwatch.Frequency);
                var phase = _phase;
                TargetProtocol.Stamp(toB, offsetB, Stopwatch.GetTimestamp());
                await pair.A.SendAsync(toB, stop);
                if (!await answered.WaitAsync(RoundTripTimeout, stop))
                {
                    pair.Fail(phase, "a round trip was not answered within 1 s");
                }
            }
        }
        catch (Exception ex) when (stop.IsCancellationRequested || ex is OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            pair.Fail(_phase, "honest send failed: " + ex.Message);
            pair.Dead = true;
        }

        await Task.WhenAll(echo, back);
    }

    /// <summary>One honest end's receive loop: records the hop, and answers (B) or signals the round trip (A).</summary>
    private async Task ReceiveLoopAsync(Pair pair, LoadClient client, byte[]? reply, int replyStamp, SemaphoreSlim? answered, CancellationToken stop)
    {
        var buffer = new byte[16384];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var n = await client.ReceiveAsync(buffer, stop);
                var now = Stopwatch.GetTimestamp();
                var phase = _phase;
                if (n < 0)
                {
                    pair.Fail(phase, $"honest client closed by the relay: {client.Socket.CloseStatus} {client.Socket.CloseStatusDescription}");
                    pair.Dead = true;
                    return;
                }

                var message = buffer.AsSpan(0, n);
                if (!context.Protocol.IsForwarded(message))
                {
                    pair.Fail(phase, "error answer: " + Encoding.UTF8.GetString(message[..Math.Min(n, 200)]));
                    continue;
                }

                pair.Record(phase, (long)((now - TargetProtocol.ReadStamp(message)) * NsPerTick));
                if (reply is not null)
                {
                    TargetProtocol.Stamp(reply, replyStamp, Stopwatch.GetTimestamp());
                    await client.SendAsync(reply, stop);
                }
                else
                {
                    answered!.Release();
                }
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            pair.Fail(_phase, "honest receive failed: " + ex.Message);
            pair.Dead = true;
        }
    }

    /// <summary>
    /// The attacker process (<c>abuse --attacker</c>): attacks for <c>--seconds</c>, then stops every abuser and prints
    /// one JSON line of <see cref="AttackCounts"/>.
    /// </summary>
    public async Task RunAttackerAsync(CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var attack = await StartAttackAsync(stop.Token);

        // The attack window starts once every abuser is in (a busy machine can take seconds to start this process).
        await Task.WhenAny(_abusersIn.Task, Task.Delay(TimeSpan.FromSeconds(30), cancellationToken));
        Console.Out.WriteLine("@ATTACKING");
        await Console.Out.FlushAsync(cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(context.Options.Seconds), cancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(attack);
        string[] ids;
        lock (_abuserIds)
        {
            ids = [.. _abuserIds.Distinct().TakeLast(64)];
        }

        var counts = new AttackCounts(
            Interlocked.Read(ref _abuserConnects), Interlocked.Read(ref _abuserCuts), Interlocked.Read(ref _abuserRefusals), Interlocked.Read(ref _abuserMessages), ids);
        Console.Out.WriteLine(JsonSerializer.Serialize(counts, JsonOptions));
        await Console.Out.FlushAsync(cancellationToken);
    }

    private static Process StartAttacker() => SelfProcess.Start(redirectInput: false, niceness: 10, "--attacker");

    private async Task<List<Task>> StartAttackAsync(CancellationToken stop)
    {
        var options = context.Options;
        var tasks = new List<Task>();
        switch (options.Attack)
        {
            case "unknown-peer":
                var unknown = Enumerable.Range(0, 1024).Select(_ => LoadContext.NewId()).ToArray();
                for (var i = 0; i < options.Abusers; i++)
                {
                    var index = i;
                    tasks.Add(Task.Run(() => FloodLoopAsync(n => unknown[(n + index * 7) % unknown.Length], stop), CancellationToken.None));
                }

                break;
            case "victim-flood":
            case "slow-reader":
                var slow = options.Attack == "slow-reader";
                var victim = LoadContext.NewId();
                var victimReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                tasks.Add(Task.Run(() => VictimLoopAsync(victim, slow, victimReady, stop), CancellationToken.None));
                await victimReady.Task.WaitAsync(stop);
                for (var i = 0; i < options.Abusers; i++)
                {
                    tasks.Add(Task.Run(() => FloodLoopAsync(_ => victim, stop), CancellationToken.None));
                }

                break;
            case "malformed":
                _malformedLeft = options.MalformedFrames;
                for (var i = 0; i < options.Abusers; i++)
                {
                    tasks.Add(Task.Run(() => MalformedLoopAsync(stop), CancellationToken.None));
                }

                break;
        }

        return tasks;
    }

    /// <summary>Registers, then sends as fast as the socket takes them until cut; reconnects at once.</summary>
    private async Task FloodLoopAsync(Func<int, string> target, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var client = await ConnectAbuserAsync(LoadContext.NewId(), 0, stop);
            if (client is null)
            {
                continue;
            }

            var messages = new Dictionary<string, byte[]>();
            var drain = Task.Run(() => DrainAsync(client, stop), CancellationToken.None);
            try
            {
                for (var n = 0; !stop.IsCancellationRequested && !drain.IsCompleted; n++)
                {
                    var to = target(n);
                    if (!messages.TryGetValue(to, out var message))
                    {
                        message = context.Protocol.Message(client.Id, to, offer: true, context.Options.Size, out _);
                        messages[to] = message;
                    }

                    await client.SendAsync(message, stop);
                    Interlocked.Increment(ref _abuserMessages);
                }
            }
            catch (Exception)
            {
                // Cut mid-send, or the attack is over.
            }

            CountCut(stop);

            await client.DisposeAsync();
            await drain;
        }
    }

    /// <summary>The flooded client: reads everything (victim-flood), or registers and never reads (slow-reader).</summary>
    private async Task VictimLoopAsync(string id, bool neverRead, TaskCompletionSource ready, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var client = await ConnectAbuserAsync(id, neverRead ? 4096 : 0, stop);
            if (client is null)
            {
                continue;
            }

            ready.TrySetResult();
            try
            {
                if (neverRead)
                {
                    // Never read; only watch the TCP state, to reconnect as soon as the relay cuts this connection.
                    while (!stop.IsCancellationRequested && IsEstablished(client.Tcp))
                    {
                        await Task.Delay(10, stop);
                    }
                }
                else
                {
                    await DrainAsync(client, stop);
                }

            }
            catch (Exception)
            {
                // The attack is over.
            }

            CountCut(stop);

            await client.DisposeAsync();
        }
    }

    /// <summary>
    /// Each connection sends one bad frame (bad JSON, wrong shape, not an array, binary, invalid UTF-8 in turn) and waits
    /// to be closed for it, then reconnects, until <c>--malformed-frames</c> were sent in all.
    /// </summary>
    private async Task MalformedLoopAsync(CancellationToken stop)
    {
        byte[][] texts = ["{not json"u8.ToArray(), "{\"message_type\": \"peer_connection\"}"u8.ToArray(), "[1, 2, 3]"u8.ToArray()];
        while (!stop.IsCancellationRequested)
        {
            var n = Interlocked.Decrement(ref _malformedLeft);
            if (n < 0)
            {
                break;
            }

            var client = await ConnectAbuserAsync(LoadContext.NewId(), 0, stop);
            if (client is null)
            {
                Interlocked.Increment(ref _malformedLeft);
                continue;
            }

            try
            {
                Interlocked.Increment(ref _abuserMessages);
                var kind = (int)(n % 5);
                if (kind < texts.Length)
                {
                    await client.SendAsync(texts[kind], stop);
                }
                else
                {
                    byte[] bad = kind == 3 ? [1, 2, 3] : [0xC3, 0x28]; // Binary, or text that is not UTF-8.
                    await client.Socket.SendAsync(bad, kind == 3 ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, stop);
                }

                await DrainAsync(client, stop);
            }
            catch (Exception)
            {
                // Cut mid-send, or the attack is over.
            }

            CountCut(stop);
            await client.DisposeAsync();
        }
    }

    private void CountCut(CancellationToken stop)
    {
        if (!stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref _abuserCuts);
        }
    }

    private async Task<LoadClient?> ConnectAbuserAsync(string id, int receiveBufferSize, CancellationToken stop)
    {
        try
        {
            var client = await LoadClient.ConnectAndRegisterAsync(context, AbuserSource, id, receiveBufferSize, stop);
            if (Interlocked.Increment(ref _abuserConnects) >= context.Options.Abusers)
            {
                _abusersIn.TrySetResult();
            }

            lock (_abuserIds)
            {
                _abuserIds.Add(id);
            }

            return client;
        }
        catch (Exception) when (!stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref _abuserRefusals);
            return null;
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static async Task DrainAsync(LoadClient client, CancellationToken stop)
    {
        var buffer = new byte[16384];
        try
        {
            while (await client.ReceiveAsync(buffer, stop) >= 0)
            {
            }
        }
        catch (Exception)
        {
            // Cut, or the run is over.
        }
    }

    /// <summary>Reads <c>tcpi_state</c> from <c>TCP_INFO</c>: 1 is ESTABLISHED; a FIN or reset from the relay moves it on.</summary>
    private static bool IsEstablished(Socket socket)
    {
        Span<byte> info = stackalloc byte[8];
        try
        {
            socket.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info);
            return info[0] == 1;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Sends a message, through a fresh honest client, to each of the last abusers' UUIDs: an unknown one comes back as
    /// an error, a registered one is delivered (nothing comes back). Returns how many were still registered.
    /// </summary>
    private async Task<int> CountRegisteredAbusersAsync(CancellationToken cancellationToken)
    {
        string[] ids;
        lock (_abuserIds)
        {
            ids = [.. _abuserIds.Distinct().TakeLast(64)];
        }

        await using var probe = await LoadClient.ConnectAndRegisterAsync(context, 0, LoadContext.NewId(), cancellationToken);
        foreach (var id in ids)
        {
            await probe.SendAsync(context.Protocol.Message(probe.Id, id, offer: true, 100, out _), cancellationToken);
        }

        var buffer = new byte[16384];
        var unknown = 0;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            while (unknown < ids.Length && await probe.ReceiveAsync(buffer, deadline.Token) is var n && n >= 0)
            {
                if (!context.Protocol.IsForwarded(buffer.AsSpan(0, n)))
                {
                    unknown++;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The rest were delivered: still registered.
        }

        return ids.Length - unknown;
    }

    private sealed class Pair(LoadClient a, LoadClient b)
    {
        private readonly Lock _lock = new();

        public LoadClient A { get; } = a;

        public LoadClient B { get; } = b;

        public LatencyHistogram[] Latency { get; } = [new(), new(), new(), new()];

        public long[] Failures { get; } = new long[4];

        public string? FirstFailure { get; private set; }

        public volatile bool Dead;

        public void Record(Phase phase, long nanoseconds)
        {
            lock (_lock)
            {
                Latency[(int)phase].Record(nanoseconds);
            }
        }

        public void Fail(Phase phase, string what)
        {
            lock (_lock)
            {
                Failures[(int)phase]++;
                FirstFailure ??= $"{phase}: {what}";
            }
        }
    }
}

/// <summary>What the attacker process did, and the last abusers' UUIDs (to check none is left registered).</summary>
internal sealed record AttackCounts(long Connects, long Cuts, long Refusals, long Messages, string[] LastIds);

/// <summary>The figures of one abuse run, as one JSON line.</summary>
internal sealed class AbuseReport
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Attack { get; init; } = "";

    public int Pairs { get; init; }

    public double Rate { get; init; }

    public int Abusers { get; init; }

    public double BaselineSeconds { get; init; }

    public double AttackSeconds { get; init; }

    public long BaselineHops { get; init; }

    public double BaselineP50Us { get; init; }

    public double BaselineP99Us { get; init; }

    public long AttackHops { get; init; }

    public double AttackP50Us { get; init; }

    public double AttackP99Us { get; init; }

    public double AttackMaxUs { get; init; }

    public long BaselineFailures { get; init; }

    public long AttackFailures { get; init; }

    public string? FirstFailure { get; init; }

    public long AbuserConnects { get; init; }

    public long AbuserCuts { get; init; }

    public long AbuserRefusals { get; init; }

    public long AbuserMessages { get; init; }

    public int AbusersStillRegistered { get; init; }

    public double? ServerCpuMsDuringAttack { get; init; }

    public long? RssBaselineKiB { get; init; }

    public long? RssAttackKiB { get; init; }

    public long? RssAfterKiB { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}
