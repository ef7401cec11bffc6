using System.IO.Pipelines;

namespace PeerRelay.Transport.Tests;

/// <summary>What a TLS layer puts in a connection's <c>Transport</c>: a pipe of its own, not the socket's.</summary>
internal sealed class WrappedPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input => input;

    public PipeWriter Output => output;
}
