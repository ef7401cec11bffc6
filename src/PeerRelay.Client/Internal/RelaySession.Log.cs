using Microsoft.Extensions.Logging;

namespace PeerRelay.Client.Internal;

internal sealed partial class RelaySession
{
    private static partial class Log
    {
        [LoggerMessage(101, LogLevel.Information, "The relay closed the connection with code {CloseCode}: {Reason}")]
        public static partial void ClosedByRelay(ILogger logger, int closeCode, string reason);

        [LoggerMessage(102, LogLevel.Warning, "The relay sent a message the client cannot decode ({Error}); closing with 4000")]
        public static partial void UndecodableMessage(ILogger logger, string error);

        [LoggerMessage(103, LogLevel.Warning, "The relay sent a {MessageType} message, which only clients send; closing with 4000")]
        public static partial void UnexpectedMessage(ILogger logger, string messageType);

        [LoggerMessage(104, LogLevel.Warning, "The relay reported an error: {Message}")]
        public static partial void ErrorResponse(ILogger logger, string message);

        [LoggerMessage(105, LogLevel.Warning, "The receive queue is full ({Capacity} messages); the client stops reading until the application reads")]
        public static partial void ReceiveQueueFull(ILogger logger, int capacity);

        [LoggerMessage(106, LogLevel.Warning, "Sending to the relay failed: {Error}")]
        public static partial void SendFailed(ILogger logger, string error);
    }
}
