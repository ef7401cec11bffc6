namespace PeerRelay.Protocol;

/// <summary>
/// A decoded relay message that still points into the bytes it was decoded from: strings stay escaped
/// (<see cref="RawJsonString"/>), so the relay can route and re-encode a message without allocating.
/// Which members are meaningful depends on <see cref="MessageType"/>. Use <see cref="ToMessage"/> for a
/// <see cref="RelayMessage"/> object.
/// </summary>
public readonly ref struct RelayFrame
{
    /// <summary>Gets the message type.</summary>
    public RelayMessageType MessageType { get; init; }

    /// <summary>Gets the <c>name</c> of a <c>relay_registration</c>.</summary>
    public RawJsonString Name { get; init; }

    /// <summary>Gets the <c>uuid</c> of a <c>relay_registration</c>.</summary>
    public Guid Uuid { get; init; }

    /// <summary>Gets the <c>success</c> of a <c>relay_response</c> (default <see langword="true"/>).</summary>
    public bool Success { get; init; }

    /// <summary>Gets the <c>message</c> of a <c>relay_response</c> (default null).</summary>
    public RawJsonString Message { get; init; }

    /// <summary>Gets the <c>error</c> flag of a <c>relay_response</c> (default <see langword="false"/>).</summary>
    public bool IsError { get; init; }

    /// <summary>Gets the <c>source_uuid</c> of a <c>peer_connection</c>.</summary>
    public Guid SourceUuid { get; init; }

    /// <summary>Gets the <c>source_name</c> of a <c>peer_connection</c>.</summary>
    public RawJsonString SourceName { get; init; }

    /// <summary>Gets the <c>peer_uuid</c> of a <c>peer_connection</c>.</summary>
    public Guid PeerUuid { get; init; }

    /// <summary>Gets the <c>description_type</c> of a <c>peer_connection</c>.</summary>
    public RawJsonString DescriptionType { get; init; }

    /// <summary>Gets the <c>description</c> of a <c>peer_connection</c>.</summary>
    public RawJsonString Description { get; init; }

    /// <summary>Gets the <c>error</c> text of a <c>peer_connection</c> (default null).</summary>
    public RawJsonString ErrorText { get; init; }

    /// <summary>Decodes every string and returns the message as an object.</summary>
    /// <returns>A <see cref="RelayRegistration"/>, <see cref="RelayResponse"/> or <see cref="PeerConnection"/>.</returns>
    public RelayMessage ToMessage() => MessageType switch
    {
        RelayMessageType.RelayRegistration => new RelayRegistration(Name.GetString()!, Uuid),
        RelayMessageType.RelayResponse => new RelayResponse(Success, Message.GetString(), IsError),
        _ => new PeerConnection(
            SourceUuid,
            SourceName.GetString()!,
            PeerUuid,
            DescriptionType.GetString()!,
            Description.GetString()!,
            ErrorText.GetString()),
    };
}
