using PeerRelay.LoadTest;

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

if (options.Scenario == "abuse")
{
    using var scenario = new AbuseScenario(new LoadContext(options));
    if (options.Attacker)
    {
        await scenario.RunAttackerAsync(cancel.Token);
        return 0;
    }

    var abuse = await scenario.RunAsync(cancel.Token);
    Console.Out.WriteLine(abuse.ToJson());
    return 0;
}

if (options.ChildIndex >= 0)
{
    await Coordinator.RunChildAsync(options, cancel.Token);
    return 0;
}

var report = await Coordinator.RunAsync(options, cancel.Token);
if (!options.JsonOnly)
{
    Console.Out.Write(report.ToTable());
}

Console.Out.WriteLine(report.ToJson());
return report.Errors == 0 && report.Units > 0 && report.ForwardCheck != false ? 0 : 1;
