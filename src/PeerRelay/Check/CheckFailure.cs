using System.Net.Http;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using PeerRelay.Client;
using PeerRelay.Protocol;

namespace PeerRelay.Check;

/// <summary>A failed check: the exit code for its cause and one plain sentence that names it.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Sentence">What went wrong, in one sentence.</param>
internal sealed record CheckFailure(CheckExitCode ExitCode, string Sentence)
{
    /// <summary>Names the cause of <paramref name="error"/>, a failure of connecting to <paramref name="address"/>.</summary>
    public static CheckFailure From(Exception error, Uri address)
    {
        // The retry policy of the check never retries; look through its "gave up" wrapper at the real failure.
        if (error is RelayConnectionException { CloseCode: null, InnerException: { } inner })
        {
            error = inner;
        }

        var endpoint = $"{address.Host}:{address.Port}";
        switch (error)
        {
            case RelayRejectedException { CloseCode: RelayCloseCodes.Unauthorized or RelayCloseCodes.Forbidden } rejected:
                return new(CheckExitCode.TokenRejected,
                    $"Token rejected: the relay closed the connection with {rejected.CloseCode} ({Reason(rejected.Reason)}).");
            case RelayRejectedException { CloseCode: null } refused:
                return new(CheckExitCode.ConnectionLost, $"The relay refused the registration ({Reason(refused.Reason)}).");
            case RelayRejectedException rejected:
                return new(CheckExitCode.ConnectionLost,
                    $"The relay closed the connection with {rejected.CloseCode} ({Reason(rejected.Reason)}).");
            case RelayProtocolException protocol:
                return new(CheckExitCode.NotARelay, $"Not a relay: {Lower(protocol.Message)}");
            case RelayConnectionException { CloseCode: { } code } closed:
                return new(CheckExitCode.ConnectionLost,
                    $"The relay closed the connection with {code} ({Reason(closed.CloseReason)}).");
            case TimeoutException timeout:
                return new(CheckExitCode.Timeout, $"Timed out: {Lower(timeout.Message)}");
        }

        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case AuthenticationException tls when tls.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase):
                    return new(CheckExitCode.TlsFailed,
                        $"TLS certificate not trusted: {Trim(tls.Message)} (use --insecure to accept a self-signed certificate).");
                case AuthenticationException tls:
                    return new(CheckExitCode.TlsFailed, $"TLS handshake with {endpoint} failed: {Trim(tls.Message)}.");
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return new(CheckExitCode.ConnectionRefused,
                        $"Connection refused: nothing accepts connections at {endpoint} (is the relay running, on this port?).");
                case SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain }:
                    return new(CheckExitCode.HostNotFound, $"Host not found: the name '{address.Host}' does not resolve.");
                case SocketException { SocketErrorCode: SocketError.TimedOut }:
                    return new(CheckExitCode.Timeout, $"Timed out: {endpoint} did not answer the TCP connection.");
                case WebSocketException { WebSocketErrorCode: WebSocketError.NotAWebSocket }:
                    return new(CheckExitCode.NotARelay,
                        $"Not a relay: the server at {address} did not upgrade to a WebSocket ({Trim(e.Message)}).");
                case HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse } http:
                    return new(CheckExitCode.NotARelay,
                        $"Not a relay: the server at {endpoint} does not speak HTTP/WebSocket ({Trim(http.Message)}).");
            }
        }

        return new(CheckExitCode.ConnectionLost, $"The connection to the relay failed: {Trim(Innermost(error).Message)}.");
    }

    private static Exception Innermost(Exception error)
    {
        while (error.InnerException is not null)
        {
            error = error.InnerException;
        }

        return error;
    }

    private static string Reason(string? reason) => string.IsNullOrEmpty(reason) ? "no reason given" : reason;

    private static string Trim(string message) => message.TrimEnd('.', ' ');

    private static string Lower(string message) =>
        message.Length > 0 && char.IsUpper(message[0]) && (message.Length == 1 || !char.IsUpper(message[1]))
            ? char.ToLowerInvariant(message[0]) + message[1..]
            : message;
}
