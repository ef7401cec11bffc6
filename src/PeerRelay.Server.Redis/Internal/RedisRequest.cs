using System.Text;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// A command whose caller awaits its reply (<see cref="Reply"/>): a script run on one key, or a plain command. The
/// reply is its elements as text (a simple or bulk string, an integer, or an array of up to three of those); an error
/// reply faults the task with a <see cref="RedisServerException"/>. The task completes on the connection's thread: the
/// continuation runs there, inline (the commands' callers only register, release or publish, and never wait).
/// </summary>
internal sealed class RedisRequest : RedisCommand
{
    private readonly RedisScript? _script;
    private readonly string? _command;
    private readonly RespArg[] _arguments;
    private readonly TaskCompletionSource<string[]> _reply = new();

    /// <summary>Runs <paramref name="script"/> with <paramref name="arguments"/>: the first is its key (KEYS[1]), the rest ARGV.</summary>
    public RedisRequest(RedisScript script, RespArg[] arguments)
    {
        _script = script;
        _arguments = arguments;
    }

    /// <summary>Runs <paramref name="command"/> (e.g. <c>PUBLISH</c>) with <paramref name="arguments"/>.</summary>
    public RedisRequest(string command, RespArg[] arguments)
    {
        _command = command;
        _arguments = arguments;
    }

    public Task<string[]> Reply => _reply.Task;

    public override RedisScript? Script => _script;

    public override void Write(RespBuffer buffer, bool scriptText)
    {
        if (_script is not null)
        {
            WriteScriptHead(buffer, _script, scriptText, _arguments.Length);
        }
        else
        {
            buffer.WriteArray(1 + _arguments.Length);
            buffer.WriteBulk(_command!);
        }

        foreach (var argument in _arguments)
        {
            argument.WriteTo(buffer);
        }
    }

    public override void OnReply(ReadOnlySpan<byte> raw, in RespFrame frame)
    {
        if (frame.IsError)
        {
            _reply.TrySetException(new RedisServerException(RedisErrorKind.Unknown, CommandFlags.None, Encoding.UTF8.GetString(frame.Element(raw, 0))));
            return;
        }

        var items = new string[frame.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = Encoding.UTF8.GetString(frame.Element(raw, i));
        }

        _reply.TrySetResult(items);
    }

    public override void OnFailed(Exception error) => _reply.TrySetException(error);
}
