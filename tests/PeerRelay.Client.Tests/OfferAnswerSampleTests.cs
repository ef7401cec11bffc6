using System.Diagnostics;
using PeerRelay.Testing;

namespace PeerRelay.Client.Tests;

/// <summary>The OfferAnswer sample, run as two real processes against a real relay.</summary>
public sealed class OfferAnswerSampleTests
{
    [Fact]
    public async Task OffererStartedFirst_FindsTheAnswererAndBothExitZero()
    {
        await using var server = await RelayTestServer.StartAsync();
        var room = Guid.NewGuid().ToString();

        // The offerer first: its offers bounce until the answerer registers, then it gets the answer.
        using var offer = Start("offer", server.Uri, room);
        await TaskTimeoutExtensions.WaitUntil(() => offer.Output.Contains("no answerer yet", StringComparison.Ordinal));
        using var answer = Start("answer", server.Uri, room);

        var answerExit = await answer.ExitAsync();
        var offerExit = await offer.ExitAsync();

        Assert.True(answerExit == 0, answer.Output);
        Assert.True(offerExit == 0, offer.Output);
        Assert.Contains("[answer] got an offer from offer-answer-offer", answer.Output, StringComparison.Ordinal);
        Assert.Contains("[answer] sent the answer", answer.Output, StringComparison.Ordinal);
        Assert.Contains("[offer] got the answer from offer-answer-answer", offer.Output, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"answer\"", offer.Output, StringComparison.Ordinal);
    }

    private static SampleProcess Start(string role, Uri relay, string room)
    {
        // Run from the sample's own output folder (tests/X/bin/CONFIG/TFM -> samples/OfferAnswer/bin/CONFIG/TFM), where
        // its dependencies are; the test folder resolves some of them from the ASP.NET Core framework instead.
        var tfm = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = tfm.Parent!.Name;
        var root = tfm.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(root, "samples", "OfferAnswer", "bin", configuration, tfm.Name, "OfferAnswer.dll");
        Assert.True(File.Exists(dll), $"the sample was not built: {dll}");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { dll, role, relay.ToString(), room })
        {
            info.ArgumentList.Add(arg);
        }

        return new SampleProcess(Process.Start(info)!);
    }

    private sealed class SampleProcess : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _output = new();
        private readonly Lock _lock = new();

        public SampleProcess(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (_lock)
                {
                    return _output.ToString();
                }
            }
        }

        public async Task<int> ExitAsync()
        {
            await _process.WaitForExitAsync().WithTimeout();
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lock)
            {
                _output.AppendLine(line);
            }
        }
    }
}
