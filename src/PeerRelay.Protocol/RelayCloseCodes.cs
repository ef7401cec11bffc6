namespace PeerRelay.Protocol;

/// <summary>
/// WebSocket close codes used by the relay, and the reason texts that go with them. See PROTOCOL.md, "Close codes".
/// </summary>
public static class RelayCloseCodes
{
    /// <summary>1000: normal close. Clients reconnect.</summary>
    public const int Normal = 1000;

    /// <summary>1001: the server is going away (shutdown). Clients reconnect.</summary>
    public const int GoingAway = 1001;

    /// <summary>1008: policy violation. PeerRelay uses it for a client that does not read fast enough. Clients reconnect.</summary>
    public const int PolicyViolation = 1008;

    /// <summary>1009: the message is over the transport limit (1 MiB by default). Clients reconnect.</summary>
    public const int MessageTooBig = 1009;

    /// <summary>1011: an unexpected server error. Clients reconnect.</summary>
    public const int InternalError = 1011;

    /// <summary>1013: try again later (an identity service the relay depends on is down or slow). Clients reconnect.</summary>
    public const int TryAgainLater = 1013;

    /// <summary>4000: the message could not be decoded or has an unknown type. Clients reconnect.</summary>
    public const int UnknownMessage = 4000;

    /// <summary>4001: no or malformed credentials. Clients give up.</summary>
    public const int Unauthorized = 4001;

    /// <summary>4002: credentials not accepted, a UUID of another user, or forwarding before registering. Clients give up.</summary>
    public const int Forbidden = 4002;

    /// <summary>4003: the message is over <c>max_message_bytes</c>. Clients reconnect.</summary>
    public const int MessageTooLarge = 4003;

    /// <summary>4004: the same UUID registered again from another socket; this (old) socket is closed. Clients give up.</summary>
    public const int DuplicateRegistration = 4004;

    /// <summary>The most UTF-8 bytes a close reason may have (RFC 6455, section 5.5: 125 bytes of payload less the 2-byte code).</summary>
    public const int MaxReasonBytes = 123;

    /// <summary>Reason sent with <see cref="UnknownMessage"/>.</summary>
    public const string UnknownMessageReason = "Unknown message type.";

    /// <summary>Reason sent with <see cref="MessageTooLarge"/>.</summary>
    public const string MessageTooLargeReason = "Message length exceeds limit.";

    /// <summary>Reason sent with <see cref="DuplicateRegistration"/>.</summary>
    public const string DuplicateRegistrationReason =
        "Relay received a registration with the same ID. This might mean that the endpoint is running in multiple locations.";

    /// <summary>Reason sent with <see cref="Forbidden"/> when a client forwards before registering (ProxyStore's tests compare it exactly).</summary>
    public const string NotRegisteredReason =
        "ForbiddenError: Client has not registered and authenticated with the relay server.";

    /// <summary>Prefix of a reason sent with <see cref="Unauthorized"/>.</summary>
    public const string UnauthorizedPrefix = "UnauthorizedError: ";

    /// <summary>Prefix of a reason sent with <see cref="Forbidden"/>.</summary>
    public const string ForbiddenPrefix = "ForbiddenError: ";

    /// <summary>
    /// Returns <paramref name="reason"/> shortened, if needed, to at most <see cref="MaxReasonBytes"/> UTF-8 bytes,
    /// cutting on a character boundary and ending with "..." when cut.
    /// </summary>
    /// <param name="reason">The reason text.</param>
    /// <returns>A reason that a WebSocket close frame can carry.</returns>
    public static string FitReason(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (System.Text.Encoding.UTF8.GetByteCount(reason) <= MaxReasonBytes)
        {
            return reason;
        }

        const string Ellipsis = "...";
        var budget = MaxReasonBytes - Ellipsis.Length;
        var used = 0;
        var end = 0;
        foreach (var rune in reason.EnumerateRunes())
        {
            if (used + rune.Utf8SequenceLength > budget)
            {
                break;
            }

            used += rune.Utf8SequenceLength;
            end += rune.Utf16SequenceLength;
        }

        return string.Concat(reason.AsSpan(0, end), Ellipsis);
    }
}
