using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The node's own Redis connection for the hot commands (forward, register, release, and the publishes between
/// nodes), instead of the multiplexer, whose writer and reader threads and pool-thread completions add hand-offs and CPU
/// to every command. RESP2, pipelined: a command is encoded into one pooled buffer under a lock and written by its
/// caller with one non-blocking send, and everything queued while a write is in flight goes out with the next one;
/// replies are read on the connection's own thread (<see cref="RedisLink"/>) and matched in order. Scripts are loaded
/// when a connection opens and run by hash; one that Redis lost (NOSCRIPT: SCRIPT FLUSH) is sent again as text.
/// A command without a reply within the time-out fails, with every other pending one, and the connection is made
/// again (the position in the stream is lost); so are commands pending when the connection drops. While there is no
/// connection, commands fail at once (<see cref="TrySend"/> returns false). Reconnects with a capped back-off.
/// </summary>
internal sealed partial class NodeCommandConnection : OwnRedisConnection
{
    /// <summary>Commands in flight at most; more fail at once (Redis frozen: the time-out will fail these).</summary>
    internal const int MaxPending = 100_000;

    private readonly long _timeoutMs;
    private readonly Lock _lock = new();
    private readonly Queue<RedisCommand> _pending = new(); // Under _lock: written or queued, in the order of the stream.
    private readonly Timer _timer;
    private readonly Action _onConnected;
    private RespBuffer _queued = new(); // Under _lock: encoded, not yet written.
    private RespBuffer _writing = new(); // The writer's, while _writerActive.
    private bool _writerActive; // Under _lock: a caller writes; others only queue.
    private RedisLink? _link; // Under _lock: the open connection, or null.
    private volatile bool _timedOut;

    /// <param name="serverOf">The server to connect to now (null: none known yet, try again after the back-off).</param>
    /// <param name="configuration">TLS, user, password, connect timeout, client name.</param>
    /// <param name="timeout">How long a command may wait for its reply.</param>
    /// <param name="onConnected">Called (on the connection's thread) each time a connection opened and loaded the scripts.</param>
    /// <param name="logger">The registry's logger.</param>
    public NodeCommandConnection(Func<EndPoint?> serverOf, ConfigurationOptions configuration, TimeSpan timeout, Action onConnected, ILogger logger)
        : base(serverOf, configuration, "commands", timeout, logger)
    {
        _onConnected = onConnected;
        _timeoutMs = (long)timeout.TotalMilliseconds;
        var period = Math.Max(50, _timeoutMs / 4);
        _timer = new Timer(static state => ((NodeCommandConnection)state!).CheckTimeout(), this, period, period);
    }

    /// <summary>Gets a value indicating whether a connection is open (commands can be sent).</summary>
    public bool IsConnected => Volatile.Read(ref _link) is not null;

    /// <summary>
    /// Queues <paramref name="command"/> and writes it, with whatever else is queued, unless a write is in flight (which
    /// then writes it next). Never blocks. Returns false when there is no connection or too much is pending: the command
    /// was not sent and will get no call.
    /// </summary>
    public bool TrySend(RedisCommand command)
    {
        lock (_lock)
        {
            if (_link is null || _pending.Count >= MaxPending)
            {
                return false;
            }

            Enqueue(command, scriptText: false);
            if (_writerActive)
            {
                return true;
            }

            _writerActive = true;
        }

        WriteQueued();
        return true;
    }

    /// <summary>Sends a command whose reply is awaited; faults with a <see cref="RedisException"/> when it fails.</summary>
    public Task<string[]> SendAsync(RedisRequest request) =>
        TrySend(request) ? request.Reply : Task.FromException<string[]>(NotConnected());

    internal static RedisConnectionException NotConnected() =>
        new(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The node's Redis command connection is not open.", null, CommandStatus.WaitingToBeSent);

    protected override void Serve(RedisLink link)
    {
        LoadScripts(link);
        link.EndHandshake();
        lock (_lock)
        {
            _timedOut = false;
            _link = link;
        }

        _onConnected();
        ReadReplies(link);
    }

    protected override string Describe(Exception error) => _timedOut ? $"no reply within {_timeoutMs} ms" : error.Message;

    protected override void OnDisposing() => _timer.Dispose();

    /// <summary>Fails every pending command (the connection is gone) and forgets what was queued.</summary>
    protected override void OnEnded(Exception? error)
    {
        RedisCommand[] failed;
        lock (_lock)
        {
            _link = null;
            failed = [.. _pending];
            _pending.Clear();
            _queued.Clear();
        }

        if (failed.Length == 0)
        {
            return;
        }

        Exception exception = _timedOut
            ? new RedisTimeoutException(CommandFlags.None, $"Redis did not answer within {_timeoutMs} ms.", CommandStatus.Sent)
            : new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "The node's Redis command connection was lost.", error, CommandStatus.Sent);
        foreach (var command in failed)
        {
            try
            {
                command.OnFailed(exception);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ReplyHandlerFailed(Logger, ex);
            }
        }
    }

    /// <summary>Encodes and queues a command (under <see cref="_lock"/>).</summary>
    private void Enqueue(RedisCommand command, bool scriptText)
    {
        command.Queued = Environment.TickCount64;
        command.Write(_queued, scriptText);
        _pending.Enqueue(command);
    }

    /// <summary>Writes what is queued, batch by batch, until nothing is (the caller set <see cref="_writerActive"/>).</summary>
    private void WriteQueued()
    {
        while (true)
        {
            RedisLink link;
            RespBuffer batch;
            lock (_lock)
            {
                if (_queued.Count == 0 || _link is null)
                {
                    _writerActive = false;
                    return;
                }

                link = _link;
                batch = _queued;
                _queued = _writing;
                _writing = batch;
            }

            try
            {
                link.Write(batch.Written);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.WriteFailed(Logger, ex.Message);
                link.Close(); // The reader fails what is pending and connects again.
            }

            batch.Clear();
        }
    }

    /// <summary>SCRIPT LOAD of every script run here, so that commands run them by hash.</summary>
    private static void LoadScripts(RedisLink link)
    {
        using var buffer = new RespBuffer();
        foreach (var script in RedisScripts.Hot)
        {
            buffer.WriteArray(3);
            buffer.WriteBulk("SCRIPT"u8);
            buffer.WriteBulk("LOAD"u8);
            buffer.WriteBulk(script.Text);
        }

        link.Write(buffer.Written);
        foreach (var _ in RedisScripts.Hot)
        {
            var raw = link.ReadFrame(out var reply);
            if (reply.IsError)
            {
                throw new RedisServerException(RedisErrorKind.Unknown, CommandFlags.None, "SCRIPT LOAD failed: " + Encoding.UTF8.GetString(reply.Element(raw, 0)));
            }
        }
    }

    /// <summary>Hands each reply to the oldest pending command, until the connection ends (throws).</summary>
    private void ReadReplies(RedisLink link)
    {
        while (true)
        {
            var raw = link.ReadFrame(out var frame);
            RedisCommand? command;
            lock (_lock)
            {
                _pending.TryDequeue(out command);
            }

            if (command is null)
            {
                throw new InvalidDataException("Redis sent a reply to no command.");
            }

            if (frame.IsError)
            {
                var text = frame.Element(raw, 0);
                if (text.StartsWith("NOSCRIPT"u8) && command.Script is { } script)
                {
                    Resend(command, script);
                    continue;
                }

                if (text.StartsWith("READONLY"u8) || text.StartsWith("MOVED"u8))
                {
                    // A fail-over made the server a replica, or the slot moved: connect again to the master that holds it.
                    command.OnFailed(new RedisServerException(RedisErrorKind.Unknown, CommandFlags.None, Encoding.UTF8.GetString(text)));
                    throw new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "Redis is no longer the master of the fleet's keys: " + Encoding.UTF8.GetString(text), null, CommandStatus.Unknown);
                }
            }

            try
            {
                command.OnReply(raw, frame);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ReplyHandlerFailed(Logger, ex);
            }
        }
    }

    /// <summary>Redis lost the script (SCRIPT FLUSH): the command again with the text, which loads it too.</summary>
    private void Resend(RedisCommand command, RedisScript script)
    {
        Log.ScriptReloaded(Logger, script.Name);
        lock (_lock)
        {
            if (_link is null)
            {
                command.OnFailed(NotConnected());
                return;
            }

            Enqueue(command, scriptText: true);
            if (_writerActive)
            {
                return;
            }

            _writerActive = true;
        }

        WriteQueued();
    }

    /// <summary>The oldest pending command waited longer than the time-out: the connection is cut and made again.</summary>
    private void CheckTimeout()
    {
        RedisLink? link = null;
        lock (_lock)
        {
            if (_pending.TryPeek(out var oldest) && Environment.TickCount64 - oldest.Queued > _timeoutMs)
            {
                link = _link;
            }
        }

        if (link is not null)
        {
            _timedOut = true;
            link.Close();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(642, LogLevel.Warning, "Writing to the node's Redis command connection failed ({Why}); connecting again")]
        public static partial void WriteFailed(ILogger logger, string why);

        [LoggerMessage(643, LogLevel.Error, "A reply of the node's Redis command connection could not be handled")]
        public static partial void ReplyHandlerFailed(ILogger logger, Exception exception);

        [LoggerMessage(644, LogLevel.Warning, "Redis lost the script {Script} (NOSCRIPT: SCRIPT FLUSH?); sending its text")]
        public static partial void ScriptReloaded(ILogger logger, string script);
    }
}
