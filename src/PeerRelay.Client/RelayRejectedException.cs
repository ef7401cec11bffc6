using PeerRelay.Protocol;

namespace PeerRelay.Client;

/// <summary>
/// The relay refused this client in a way that retrying cannot fix: close code 4001 (no or malformed credentials),
/// 4002 (credentials not accepted, or a UUID owned by another user), 4004 (the same UUID registered from another
/// place), or a registration answered with <c>success: false</c>. The client does not retry after it; fix the cause
/// and create a new client.
/// </summary>
public sealed class RelayRejectedException : Exception
{
    /// <summary>Initializes the exception.</summary>
    /// <param name="closeCode">The close code, or <see langword="null"/> for a <c>success: false</c> registration reply.</param>
    /// <param name="reason">The relay's close reason or reply message (may be empty).</param>
    public RelayRejectedException(int? closeCode, string reason)
        : base(Describe(closeCode, reason))
    {
        CloseCode = closeCode;
        Reason = reason ?? string.Empty;
    }

    /// <summary>
    /// Gets the WebSocket close code (4001, 4002 or 4004), or <see langword="null"/> when the relay answered the
    /// registration with <c>success: false</c>.
    /// </summary>
    public int? CloseCode { get; }

    /// <summary>Gets the relay's reason text as sent (e.g. <c>UnauthorizedError: ...</c>); empty when there was none.</summary>
    public string Reason { get; }

    private static string Describe(int? code, string? reason)
    {
        var why = string.IsNullOrEmpty(reason) ? string.Empty : $": {reason}";
        return code switch
        {
            RelayCloseCodes.Unauthorized =>
                $"The relay rejected the client's credentials (close 4001, unauthorized){why}. Check the token; the client does not retry.",
            RelayCloseCodes.Forbidden =>
                $"The relay forbade this client (close 4002, forbidden){why}. The token is not accepted or the UUID belongs to another user; the client does not retry.",
            RelayCloseCodes.DuplicateRegistration =>
                $"Another client registered the same UUID (close 4004){why}. This client does not retry, so that the two do not take the UUID from each other in turn.",
            null => $"The relay refused the registration{why}. The client does not retry.",
            _ => $"The relay closed the connection with code {code}{why}. The client does not retry.",
        };
    }
}
