using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>Handles one message of this node's channel; called on the listener's thread, one message at a time.</summary>
/// <param name="message">The message; valid only during the call.</param>
internal delegate void NodeMessageHandler(ReadOnlySpan<byte> message);

/// <summary>
/// This node's channel, read on a Redis connection of its own (<see cref="OwnRedisConnection"/>): <c>SUBSCRIBE</c>
/// (<c>SSUBSCRIBE</c> on a Redis Cluster), then every message handed to the registry on the connection's thread, from
/// the read buffer, in the order Redis sent it. StackExchange.Redis hands every subscription message to the thread pool
/// (its ChannelMessageQueue continues on a pool thread, a handler runs as a work item of its own), one more thread
/// hand-off and a copy per cross-node message: this avoids both, and its blocking reads wake one thread per batch.
/// </summary>
internal sealed partial class NodeChannelListener : OwnRedisConnection
{
    private readonly string _channel;
    private readonly bool _sharded;
    private readonly NodeMessageHandler _onMessage;
    private readonly Action _onSubscribed;
    private volatile bool _subscribed;

    public NodeChannelListener(
        Func<EndPoint?> serverOf, ConfigurationOptions configuration, TimeSpan sendTimeout, string channel, bool sharded, NodeMessageHandler onMessage, Action onSubscribed, ILogger logger)
        : base(serverOf, configuration, "channel", sendTimeout, logger)
    {
        _onSubscribed = onSubscribed;
        _channel = channel;
        _sharded = sharded;
        _onMessage = onMessage;
    }

    /// <summary>Gets a value indicating whether Redis confirmed the subscription on the current connection.</summary>
    public bool Subscribed => _subscribed;

    protected override void Serve(RedisLink link)
    {
        link.EndHandshake(); // Messages may not come for a long time.
        using (var subscribe = new RespBuffer(128))
        {
            subscribe.WriteArray(2);
            subscribe.WriteBulk(_sharded ? "SSUBSCRIBE"u8 : "SUBSCRIBE"u8);
            subscribe.WriteBulk(_channel);
            link.Write(subscribe.Written);
        }

        while (true)
        {
            var raw = link.ReadFrame(out var frame);
            Handle(raw, frame);
        }
    }

    protected override void OnEnded(Exception? error) => _subscribed = false;

    /// <summary>One reply or push: a message is handed on; the subscription's confirmation marks it live.</summary>
    private void Handle(ReadOnlySpan<byte> raw, in RespFrame frame)
    {
        if (frame.IsError)
        {
            throw new RedisException("Redis refused on this node's channel: " + Encoding.UTF8.GetString(frame.Element(raw, 0)));
        }

        if (frame.Count < 3)
        {
            return;
        }

        var kind = frame.Element(raw, 0);
        if (kind.SequenceEqual("message"u8) || kind.SequenceEqual("smessage"u8))
        {
            try
            {
                _onMessage(frame.Element(raw, 2));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.HandlerFailed(Logger, ex);
            }
        }
        else if (kind.SequenceEqual("subscribe"u8) || kind.SequenceEqual("ssubscribe"u8))
        {
            _subscribed = true;
            _onSubscribed();
        }
        else if (kind.SequenceEqual("unsubscribe"u8) || kind.SequenceEqual("sunsubscribe"u8))
        {
            // Redis Cluster moved the channel's slot: subscribe again where it is now.
            throw new RedisException("Redis ended the subscription to this node's channel");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(631, LogLevel.Error, "A message of this node's channel could not be handled")]
        public static partial void HandlerFailed(ILogger logger, Exception exception);
    }
}
