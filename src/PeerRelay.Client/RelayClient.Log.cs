using Microsoft.Extensions.Logging;

namespace PeerRelay.Client;

public sealed partial class RelayClient
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Connecting to the relay at {Address} as {Uuid}")]
        public static partial void Connecting(ILogger logger, Uri address, Guid uuid);

        [LoggerMessage(2, LogLevel.Information, "Registered with the relay at {Address} as {Uuid}")]
        public static partial void Registered(ILogger logger, Uri address, Guid uuid);

        [LoggerMessage(3, LogLevel.Warning, "Connection to the relay failed or was lost ({Error}); retry {RetryCount} in {DelaySeconds:0.###} s")]
        public static partial void Retrying(ILogger logger, string error, double delaySeconds, long retryCount);

        [LoggerMessage(4, LogLevel.Error, "The relay rejected the client with close code {CloseCode} (0: a refused registration): {Reason}. Not retrying.")]
        public static partial void Rejected(ILogger logger, int closeCode, string reason);

        [LoggerMessage(5, LogLevel.Error, "The retry policy gave up after {Attempts} failed attempt(s). Last error: {Error}")]
        public static partial void GaveUp(ILogger logger, long attempts, string error);

        [LoggerMessage(6, LogLevel.Information, "Closed the connection to the relay at {Address} ({Uuid})")]
        public static partial void Closed(ILogger logger, Uri address, Guid uuid);

        [LoggerMessage(7, LogLevel.Error, "The relay client's connection loop failed")]
        public static partial void LoopFailed(ILogger logger, Exception exception);

        [LoggerMessage(8, LogLevel.Error, "A StateChanged handler threw for state {State}")]
        public static partial void StateHandlerFailed(ILogger logger, Exception exception, RelayClientState state);
    }
}
