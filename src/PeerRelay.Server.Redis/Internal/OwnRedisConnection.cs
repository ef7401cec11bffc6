using System.Net;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// A Redis connection of the node's own (<see cref="RedisLink"/>) on a thread of its own: connect to the server that
/// holds the fleet's slot, let the subclass serve it until it ends, then connect again after a capped back-off, until
/// disposed. The node's channel (<see cref="NodeChannelListener"/>) and its hot commands
/// (<see cref="NodeCommandConnection"/>) each have one.
/// </summary>
internal abstract partial class OwnRedisConnection : IAsyncDisposable
{
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly Func<EndPoint?> _serverOf;
    private readonly ConfigurationOptions _configuration;
    private readonly string _role;
    private readonly TimeSpan _sendTimeout;
    private readonly CancellationTokenSource _stopping = new();
    private volatile RedisLink? _current;
    private Thread? _thread;
    private int _disposed;

    /// <param name="serverOf">The server to connect to now (null: none known yet; try again after the back-off).</param>
    /// <param name="configuration">TLS, user, password, connect time-out and client name (the multiplexer's).</param>
    /// <param name="role">What the connection is for: its thread's and its client's name (<c>channel</c>, <c>commands</c>).</param>
    /// <param name="sendTimeout">How long a write the socket does not take may wait for room.</param>
    /// <param name="logger">The registry's logger.</param>
    protected OwnRedisConnection(Func<EndPoint?> serverOf, ConfigurationOptions configuration, string role, TimeSpan sendTimeout, ILogger logger)
    {
        _serverOf = serverOf;
        _configuration = configuration;
        _role = role;
        _sendTimeout = sendTimeout;
        Logger = logger;
    }

    protected ILogger Logger { get; }

    /// <summary>Starts connecting, on the connection's own thread.</summary>
    public void Start()
    {
        if (_thread is null)
        {
            _thread = new Thread(Run) { IsBackground = true, Name = "PeerRelay Redis " + _role };
            _thread.UnsafeStart();
        }
    }

    /// <summary>Stops the thread and closes the connection; idempotent (the registry may be disposed more than once).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        OnDisposing();
        _current?.Close();
        if (_thread is { } thread)
        {
            await Task.Run(thread.Join).ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    /// <summary>Serves a new connection (on the connection's thread) until it ends: throws when it does.</summary>
    protected abstract void Serve(RedisLink link);

    /// <summary>The connection served last ended (on the connection's thread, before it is disposed).</summary>
    protected virtual void OnEnded(Exception? error)
    {
    }

    /// <summary>Says why the connection ended, for the log.</summary>
    protected virtual string Describe(Exception error) => error.Message;

    /// <summary>Disposing has begun (before the connection is closed).</summary>
    protected virtual void OnDisposing()
    {
    }

    private void Run()
    {
        var token = _stopping.Token;
        var backoff = InitialBackoff;
        var name = (_configuration.ClientName ?? "peerrelay") + "-" + _role;
        while (!token.IsCancellationRequested)
        {
            RedisLink? link = null;
            Exception? error = null;
            try
            {
                if (_serverOf() is { } endpoint)
                {
                    link = RedisLink.Connect(endpoint, _configuration, name, _sendTimeout, token);
                    _current = link;
                    backoff = InitialBackoff;
                    Serve(link);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Refused, reset, timed out, TLS, AUTH, bytes that are not RESP, the server demoted: again.
                error = ex;
                if (!token.IsCancellationRequested)
                {
                    Log.ConnectionLost(Logger, _role, Describe(ex));
                }
            }
            finally
            {
                _current = null;
                if (link is not null)
                {
                    OnEnded(error);
                    link.Dispose();
                }
            }

            if (token.WaitHandle.WaitOne(backoff))
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(630, LogLevel.Warning, "Lost the node's own Redis connection for its {Role} ({Why}); connecting again")]
        public static partial void ConnectionLost(ILogger logger, string role, string why);
    }
}
