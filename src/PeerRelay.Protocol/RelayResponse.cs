namespace PeerRelay.Protocol;

/// <summary>
/// <c>relay_response</c>: the server's answer to a registration, or a report of an error that did not close the
/// connection.
/// </summary>
/// <param name="Success">Whether the request succeeded. Defaults to <see langword="true"/>.</param>
/// <param name="Message">An optional text, <c>"ErrorName: why"</c> for errors. Defaults to <see langword="null"/>.</param>
/// <param name="Error">Whether this response reports an error. Defaults to <see langword="false"/>.</param>
public sealed record RelayResponse(bool Success = true, string? Message = null, bool Error = false) : RelayMessage
{
    /// <summary>The plain success response sent after a registration.</summary>
    public static RelayResponse Ok { get; } = new();

    /// <inheritdoc />
    public override RelayMessageType MessageType => RelayMessageType.RelayResponse;
}
