using PeerRelay.Protocol;

namespace PeerRelay.Server.Authentication;

/// <summary>The outcome of authenticating a connection: a user, or a failure with the close code it maps to.</summary>
public readonly record struct RelayAuthResult
{
    private RelayAuthResult(RelayUser? user, int closeCode, string? reason)
    {
        User = user;
        CloseCode = closeCode;
        Reason = reason;
    }

    /// <summary>Gets the user when authentication succeeded.</summary>
    public RelayUser? User { get; }

    /// <summary>Gets the close code for a failure (4001, 4002 or 1013), or 0 on success.</summary>
    public int CloseCode { get; }

    /// <summary>Gets the close reason for a failure, already prefixed (e.g. <c>ForbiddenError: ...</c>).</summary>
    public string? Reason { get; }

    /// <summary>Gets a value indicating whether authentication succeeded.</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(User))]
    public bool Succeeded => User is not null;

    /// <summary>Authentication succeeded as <paramref name="user"/>.</summary>
    /// <param name="user">The user.</param>
    /// <returns>The result.</returns>
    public static RelayAuthResult Success(RelayUser user) => new(user ?? throw new ArgumentNullException(nameof(user)), 0, null);

    /// <summary>Missing or malformed credentials: close 4001 with <c>UnauthorizedError: why</c>.</summary>
    /// <param name="why">What is wrong, for the client; never include the token.</param>
    /// <returns>The result.</returns>
    public static RelayAuthResult Unauthorized(string why) =>
        new(null, RelayCloseCodes.Unauthorized, RelayCloseCodes.UnauthorizedPrefix + why);

    /// <summary>Valid-looking credentials that are not accepted: close 4002 with <c>ForbiddenError: why</c>.</summary>
    /// <param name="why">What is wrong, for the client; never include the token.</param>
    /// <returns>The result.</returns>
    public static RelayAuthResult Forbidden(string why) =>
        new(null, RelayCloseCodes.Forbidden, RelayCloseCodes.ForbiddenPrefix + why);

    /// <summary>The identity service could not be asked (down or slow): close 1013 (try again later).</summary>
    /// <param name="why">What failed.</param>
    /// <returns>The result.</returns>
    public static RelayAuthResult Unavailable(string why) =>
        new(null, RelayCloseCodes.TryAgainLater, "ServiceUnavailableError: " + why);
}
