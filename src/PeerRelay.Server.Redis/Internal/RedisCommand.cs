namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// One command of a <see cref="NodeCommandConnection"/>: it encodes itself when queued and takes its reply, matched in
/// the order commands were written, on the connection's thread (so its continuations should be short and never wait).
/// </summary>
internal abstract class RedisCommand
{
    /// <summary>Gets or sets when the command was queued (<see cref="Environment.TickCount64"/>), for its time-out.</summary>
    public long Queued { get; set; }

    /// <summary>Gets the script the command runs, if it runs one (sent again as text when Redis lost it: NOSCRIPT).</summary>
    public virtual RedisScript? Script => null;

    /// <summary>Encodes the command; a script by its hash (EVALSHA), or by its text (EVAL) when <paramref name="scriptText"/>.</summary>
    public abstract void Write(RespBuffer buffer, bool scriptText);

    /// <summary>Takes the reply (which may be an error); <paramref name="raw"/> is valid only during the call.</summary>
    public abstract void OnReply(ReadOnlySpan<byte> raw, in RespFrame frame);

    /// <summary>The command got no reply: the connection was lost or timed out, or it could not be sent.</summary>
    public abstract void OnFailed(Exception error);

    /// <summary>Writes <c>EVALSHA sha 1</c> (or <c>EVAL text 1</c>) of a script that takes one key; <paramref name="arguments"/> counts the key and every ARGV.</summary>
    protected static void WriteScriptHead(RespBuffer buffer, RedisScript script, bool scriptText, int arguments)
    {
        buffer.WriteArray(3 + arguments);
        if (scriptText)
        {
            buffer.WriteBulk("EVAL"u8);
            buffer.WriteBulk(script.Text);
        }
        else
        {
            buffer.WriteBulk("EVALSHA"u8);
            buffer.WriteBulk(script.HexHash);
        }

        buffer.WriteBulk("1"u8);
    }
}
