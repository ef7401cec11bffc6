namespace PeerRelay.Server.Authentication;

/// <summary>
/// The identity an authenticator gives a connection. Clients of one user can reach each other; clients of
/// different users cannot.
/// </summary>
/// <param name="Id">The user's stable identifier (e.g. a token's <c>sub</c>). Compared ordinally.</param>
public sealed record RelayUser(string Id)
{
    /// <summary>Gets the single user every client is when authentication is off.</summary>
    public static RelayUser Anonymous { get; } = new(string.Empty);

    /// <inheritdoc />
    public override string ToString() => Id.Length == 0 ? "(anonymous)" : Id;
}
