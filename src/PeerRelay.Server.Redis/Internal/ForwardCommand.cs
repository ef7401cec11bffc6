using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.Logging;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// A message for a UUID held on another node: the forward script (<c>forward.lua</c>) on the node's own connection,
/// whose reply (the number of nodes that got it) becomes the delivery's status. Pooled, and its own
/// <see cref="IValueTaskSource{TResult}"/>, so a cross-node message allocates nothing here; its result is set on the
/// connection's thread and the awaiting code continues there.
/// </summary>
internal sealed class ForwardCommand : RedisCommand, IValueTaskSource<RelayDeliveryStatus>
{
    private static readonly ConcurrentQueue<ForwardCommand> s_pool = new();

    private ManualResetValueTaskSourceCore<RelayDeliveryStatus> _core; // Continuations run inline, on the connection's thread.
    private ForwardContext _context = null!;
    private Guid _source;
    private Guid _peer;
    private string _user = string.Empty;
    private ReadOnlyMemory<byte> _message;

    public override RedisScript? Script => RedisScripts.Forward;

    /// <summary>Gets a command for one message; <paramref name="message"/> must stay valid until its result is read.</summary>
    public static ForwardCommand Rent(ForwardContext context, Guid source, string user, Guid peer, ReadOnlyMemory<byte> message)
    {
        if (!s_pool.TryDequeue(out var command))
        {
            command = new ForwardCommand();
        }

        command._context = context;
        command._source = source;
        command._user = user;
        command._peer = peer;
        command._message = message;
        return command;
    }

    /// <summary>Gets the task that completes with the delivery's status.</summary>
    public ValueTask<RelayDeliveryStatus> Task => new(this, _core.Version);

    /// <summary>Completes without sending (no connection): the registry is unavailable.</summary>
    public void Unavailable() => Complete(RelayDeliveryStatus.Unavailable, "failed");

    public override void Write(RespBuffer buffer, bool scriptText)
    {
        // KEYS[1] = P..'c:'..peer; ARGV: P, the sender's user, the envelope, PUBLISH or SPUBLISH (forward.lua).
        var context = _context;
        WriteScriptHead(buffer, RedisScripts.Forward, scriptText, 5);
        var key = buffer.StartBulk(context.Prefix.Length + 2 + 36);
        context.Prefix.CopyTo(key);
        "c:"u8.CopyTo(key[context.Prefix.Length..]);
        _peer.TryFormat(key[(context.Prefix.Length + 2)..], out _);
        buffer.EndBulk(key.Length);
        buffer.WriteBulk(context.Prefix);
        buffer.WriteBulk(_user);
        var length = NodeEnvelope.MessageLength(context.NodeBytes, _message.Length);
        NodeEnvelope.WriteMessage(buffer.StartBulk(length), _peer, context.NodeBytes, _message.Span);
        buffer.EndBulk(length);
        buffer.WriteBulk(context.PublishCommand);
    }

    public override void OnReply(ReadOnlySpan<byte> raw, in RespFrame frame)
    {
        if (frame.IsError || !Utf8Parser.TryParse(frame.Element(raw, 0), out long receivers, out _))
        {
            Failed(System.Text.Encoding.UTF8.GetString(frame.Element(raw, 0)));
            return;
        }

        // 0: the holder's node has no subscription (it died before its lease ran out): the message reached no one.
        if (receivers > 0)
        {
            Complete(RelayDeliveryStatus.Delivered, "delivered");
        }
        else
        {
            Complete(RelayDeliveryStatus.UnknownPeer, receivers == 0 ? "no_receiver" : "unknown_peer");
        }
    }

    public override void OnFailed(Exception error) => Failed(error.Message);

    public RelayDeliveryStatus GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            _context = null!;
            _user = string.Empty;
            _message = default;
            s_pool.Enqueue(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void Failed(string why)
    {
        _context.Metrics.RedisError("forward");
        _context.ForwardFailed(_source, _peer, why);
        Complete(RelayDeliveryStatus.Unavailable, "failed");
    }

    private void Complete(RelayDeliveryStatus status, string result)
    {
        _context.Metrics.Publish(result);
        _core.SetResult(status);
    }
}

/// <summary>What every <see cref="ForwardCommand"/> of a node shares: its key prefix, name, publish command, metrics and log.</summary>
internal sealed class ForwardContext(byte[] prefix, byte[] nodeBytes, byte[] publishCommand, ClusterMetrics metrics, Action<Guid, Guid, string> forwardFailed)
{
    public byte[] Prefix { get; } = prefix;

    public byte[] NodeBytes { get; } = nodeBytes;

    public byte[] PublishCommand { get; } = publishCommand;

    public ClusterMetrics Metrics { get; } = metrics;

    public void ForwardFailed(Guid source, Guid peer, string why) => forwardFailed(source, peer, why);
}
