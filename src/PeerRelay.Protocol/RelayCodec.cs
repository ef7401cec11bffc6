using System.Diagnostics.CodeAnalysis;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using PeerRelay.Protocol.Internal;

namespace PeerRelay.Protocol;

/// <summary>
/// Decodes relay messages straight from UTF-8 bytes and encodes them to an <see cref="IBufferWriter{T}"/>.
/// Decoding applies every rule of PROTOCOL.md ("Messages"); encoding writes the bytes Python's <c>json.dumps</c>
/// writes for the same message, so output is identical to the reference server's.
/// </summary>
/// <remarks>Pure code: no I/O, logging or clocks. Thread-safe.</remarks>
public static class RelayCodec
{
    private const int KeyName = 0;
    private const int KeyUuid = 1;
    private const int KeySuccess = 2;
    private const int KeyMessage = 3;
    private const int KeyError = 4;
    private const int KeySourceUuid = 5;
    private const int KeySourceName = 6;
    private const int KeyPeerUuid = 7;
    private const int KeyDescriptionType = 8;
    private const int KeyDescription = 9;
    private const int KeyMessageType = 10;
    private const int KeyCount = 11;

    private const int RegistrationKeys = (1 << KeyName) | (1 << KeyUuid) | (1 << KeyMessageType);
    private const int ResponseKeys = (1 << KeySuccess) | (1 << KeyMessage) | (1 << KeyError) | (1 << KeyMessageType);
    private const int ResponseRequired = 1 << KeyMessageType;
    private const int PeerKeys = (1 << KeySourceUuid) | (1 << KeySourceName) | (1 << KeyPeerUuid)
        | (1 << KeyDescriptionType) | (1 << KeyDescription) | (1 << KeyError) | (1 << KeyMessageType);
    private const int PeerRequired = PeerKeys & ~(1 << KeyError);

    private static readonly string[] KeyNames =
    [
        "name", "uuid", "success", "message", "error", "source_uuid", "source_name", "peer_uuid",
        "description_type", "description", "message_type",
    ];

    private static readonly byte[][] KeyNamesUtf8 = Array.ConvertAll(KeyNames, Encoding.UTF8.GetBytes);

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    /// <summary>
    /// Decodes one message from UTF-8 JSON. The returned frame points into <paramref name="utf8Json"/>.
    /// </summary>
    /// <param name="utf8Json">The bytes of one text frame.</param>
    /// <param name="frame">The decoded message when this returns <see langword="true"/>.</param>
    /// <param name="error">Which decoding rule was broken when this returns <see langword="false"/>.</param>
    /// <returns><see langword="true"/> when the input is a valid relay message.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> utf8Json, out RelayFrame frame, [NotNullWhen(false)] out string? error)
    {
        frame = default;
        Fields fields = default;
        var present = 0;
        var type = (RelayMessageType)(-1);
        // The reader does not check the UTF-8 inside strings it is not asked to decode; the forwarding path copies
        // them raw, so validate the whole input once (vectorized, a few ns per 100 bytes).
        if (!Utf8.IsValid(utf8Json))
        {
            error = "the message is not valid UTF-8";
            return false;
        }

        var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "the message is not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = KeyOf(ref reader);
                if (key < 0)
                {
                    error = $"unknown key '{reader.GetString()}'";
                    return false;
                }

                reader.Read();
                ref var field = ref fields[key];
                field.Token = reader.TokenType;
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        field.Start = (int)reader.TokenStartIndex + 1;
                        field.Length = reader.ValueSpan.Length;
                        field.Escaped = reader.ValueIsEscaped;
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        error = $"key '{KeyNames[key]}' has a value of the wrong type";
                        return false;
                }

                if (key == KeyMessageType)
                {
                    type = reader.TokenType != JsonTokenType.String ? (RelayMessageType)(-1)
                        : reader.ValueTextEquals("peer_connection"u8) ? RelayMessageType.PeerConnection
                        : reader.ValueTextEquals("relay_registration"u8) ? RelayMessageType.RelayRegistration
                        : reader.ValueTextEquals("relay_response"u8) ? RelayMessageType.RelayResponse
                        : (RelayMessageType)(-1);
                }

                present |= 1 << key;
            }

            // Anything but white space after the object makes the reader throw.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "the message is not a single JSON object";
                return false;
            }
        }
        catch (JsonException)
        {
            error = "the message is not valid JSON";
            return false;
        }

        if ((present & (1 << KeyMessageType)) == 0)
        {
            error = "the message has no message_type";
            return false;
        }

        var (allowed, required) = type switch
        {
            RelayMessageType.RelayRegistration => (RegistrationKeys, RegistrationKeys),
            RelayMessageType.RelayResponse => (ResponseKeys, ResponseRequired),
            RelayMessageType.PeerConnection => (PeerKeys, PeerRequired),
            _ => (0, 0),
        };
        if (allowed == 0)
        {
            error = "unknown message_type";
            return false;
        }

        if ((present & ~allowed) != 0)
        {
            error = $"key '{KeyNames[LowestBit(present & ~allowed)]}' does not belong to {type}";
            return false;
        }

        if ((required & ~present) != 0)
        {
            error = $"required key '{KeyNames[LowestBit(required & ~present)]}' is missing";
            return false;
        }

        switch (type)
        {
            case RelayMessageType.RelayRegistration:
                if (!TryUuid(utf8Json, fields[KeyUuid], KeyUuid, out var uuid, out error)
                    || !TryString(utf8Json, fields[KeyName], KeyName, nullable: false, out var name, out error))
                {
                    return false;
                }

                frame = new RelayFrame { MessageType = type, Name = name, Uuid = uuid };
                return true;

            case RelayMessageType.RelayResponse:
                if (!TryBool(fields[KeySuccess], KeySuccess, defaultValue: true, out var success, out error)
                    || !TryBool(fields[KeyError], KeyError, defaultValue: false, out var isError, out error)
                    || !TryString(utf8Json, fields[KeyMessage], KeyMessage, nullable: true, out var message, out error))
                {
                    return false;
                }

                frame = new RelayFrame { MessageType = type, Success = success, IsError = isError, Message = message };
                return true;

            default:
                if (!TryUuid(utf8Json, fields[KeySourceUuid], KeySourceUuid, out var source, out error)
                    || !TryUuid(utf8Json, fields[KeyPeerUuid], KeyPeerUuid, out var peer, out error)
                    || !TryString(utf8Json, fields[KeySourceName], KeySourceName, nullable: false, out var sourceName, out error)
                    || !TryString(utf8Json, fields[KeyDescriptionType], KeyDescriptionType, nullable: false, out var descriptionType, out error)
                    || !TryString(utf8Json, fields[KeyDescription], KeyDescription, nullable: false, out var description, out error)
                    || !TryString(utf8Json, fields[KeyError], KeyError, nullable: true, out var errorText, out error))
                {
                    return false;
                }

                frame = new RelayFrame
                {
                    MessageType = type,
                    SourceUuid = source,
                    SourceName = sourceName,
                    PeerUuid = peer,
                    DescriptionType = descriptionType,
                    Description = description,
                    ErrorText = errorText,
                };
                return true;
        }
    }

    /// <summary>Decodes one message from UTF-8 JSON into an object.</summary>
    /// <param name="utf8Json">The bytes of one text frame.</param>
    /// <returns>The decoded message.</returns>
    /// <exception cref="RelayDecodeException">The input breaks a decoding rule.</exception>
    public static RelayMessage Decode(ReadOnlySpan<byte> utf8Json) =>
        TryDecode(utf8Json, out var frame, out var error) ? frame.ToMessage() : throw new RelayDecodeException(error);

    /// <summary>Decodes one message from a JSON string into an object.</summary>
    /// <param name="json">The text of one text frame.</param>
    /// <returns>The decoded message.</returns>
    /// <exception cref="RelayDecodeException">The input breaks a decoding rule.</exception>
    public static RelayMessage Decode(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Decode(Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Encodes <paramref name="message"/> as UTF-8 JSON into <paramref name="writer"/>.</summary>
    /// <param name="message">The message to encode.</param>
    /// <param name="writer">Where the bytes go.</param>
    public static void Encode(RelayMessage message, IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(writer);
        switch (message)
        {
            case RelayRegistration r:
                JsonOutput.Raw(writer, "{\"name\": "u8);
                JsonOutput.String(writer, r.Name);
                JsonOutput.Raw(writer, ", \"uuid\": "u8);
                JsonOutput.Guid(writer, r.Uuid);
                JsonOutput.Raw(writer, ", \"message_type\": \"relay_registration\"}"u8);
                break;
            case RelayResponse r:
                WriteResponse(writer, r.Success, r.Message, r.Error);
                break;
            case PeerConnection p:
                JsonOutput.Raw(writer, "{\"source_uuid\": "u8);
                JsonOutput.Guid(writer, p.SourceUuid);
                JsonOutput.Raw(writer, ", \"source_name\": "u8);
                JsonOutput.String(writer, p.SourceName);
                JsonOutput.Raw(writer, ", \"peer_uuid\": "u8);
                JsonOutput.Guid(writer, p.PeerUuid);
                JsonOutput.Raw(writer, ", \"description_type\": "u8);
                JsonOutput.String(writer, p.DescriptionType);
                JsonOutput.Raw(writer, ", \"description\": "u8);
                JsonOutput.String(writer, p.Description);
                JsonOutput.Raw(writer, ", \"error\": "u8);
                JsonOutput.String(writer, p.Error);
                JsonOutput.Raw(writer, ", \"message_type\": \"peer_connection\"}"u8);
                break;
            default:
                throw new ArgumentException($"Unknown message type {message.GetType()}.", nameof(message));
        }
    }

    /// <summary>Encodes <paramref name="message"/> as UTF-8 JSON bytes.</summary>
    /// <param name="message">The message to encode.</param>
    /// <returns>The bytes of one text frame.</returns>
    public static byte[] EncodeToUtf8Bytes(RelayMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Encode(message, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes <paramref name="message"/> as a JSON string.</summary>
    /// <param name="message">The message to encode.</param>
    /// <returns>The text of one text frame.</returns>
    public static string EncodeToString(RelayMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Encode(message, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Writes a <c>relay_response</c>. Allocation-free counterpart of <see cref="Encode(RelayMessage, IBufferWriter{byte})"/>.
    /// </summary>
    /// <param name="writer">Where the bytes go.</param>
    /// <param name="success">The <c>success</c> field.</param>
    /// <param name="message">The <c>message</c> field, or null.</param>
    /// <param name="error">The <c>error</c> field.</param>
    public static void WriteResponse(IBufferWriter<byte> writer, bool success, string? message, bool error)
    {
        ArgumentNullException.ThrowIfNull(writer);
        JsonOutput.Raw(writer, "{\"success\": "u8);
        JsonOutput.Bool(writer, success);
        JsonOutput.Raw(writer, ", \"message\": "u8);
        JsonOutput.String(writer, message);
        JsonOutput.Raw(writer, ", \"error\": "u8);
        JsonOutput.Bool(writer, error);
        JsonOutput.Raw(writer, ", \"message_type\": \"relay_response\"}"u8);
    }

    /// <summary>
    /// Writes a <c>peer_connection</c> from already-escaped string values, such as those of a decoded
    /// <see cref="RelayFrame"/>: the relay's forwarding path, which copies descriptions without decoding them.
    /// </summary>
    /// <param name="writer">Where the bytes go.</param>
    /// <param name="sourceUuid">The <c>source_uuid</c> field.</param>
    /// <param name="sourceName">The <c>source_name</c> field, escaped.</param>
    /// <param name="peerUuid">The <c>peer_uuid</c> field.</param>
    /// <param name="descriptionType">The <c>description_type</c> field, escaped.</param>
    /// <param name="description">The <c>description</c> field, escaped.</param>
    /// <param name="error">The <c>error</c> field, escaped, or <see cref="RawJsonString.Null"/>.</param>
    public static void WritePeerConnection(
        IBufferWriter<byte> writer,
        Guid sourceUuid,
        scoped RawJsonString sourceName,
        Guid peerUuid,
        scoped RawJsonString descriptionType,
        scoped RawJsonString description,
        scoped RawJsonString error)
    {
        ArgumentNullException.ThrowIfNull(writer);

        // One GetSpan for the whole message when the writer can give it: the common case on the relay's hot path.
        var size = 256 + sourceName.Escaped.Length + descriptionType.Escaped.Length + description.Escaped.Length
            + error.Escaped.Length;
        var span = writer.GetSpan(size);
        if (span.Length >= size)
        {
            var n = 0;
            Put(span, ref n, "{\"source_uuid\": \""u8);
            sourceUuid.TryFormat(span[n..], out var w, "D");
            n += w;
            Put(span, ref n, "\", \"source_name\": \""u8);
            Put(span, ref n, sourceName.Escaped);
            Put(span, ref n, "\", \"peer_uuid\": \""u8);
            peerUuid.TryFormat(span[n..], out w, "D");
            n += w;
            Put(span, ref n, "\", \"description_type\": \""u8);
            Put(span, ref n, descriptionType.Escaped);
            Put(span, ref n, "\", \"description\": \""u8);
            Put(span, ref n, description.Escaped);
            if (error.IsNull)
            {
                Put(span, ref n, "\", \"error\": null, \"message_type\": \"peer_connection\"}"u8);
            }
            else
            {
                Put(span, ref n, "\", \"error\": \""u8);
                Put(span, ref n, error.Escaped);
                Put(span, ref n, "\", \"message_type\": \"peer_connection\"}"u8);
            }

            writer.Advance(n);
            return;
        }

        JsonOutput.Raw(writer, "{\"source_uuid\": "u8);
        JsonOutput.Guid(writer, sourceUuid);
        JsonOutput.Raw(writer, ", \"source_name\": "u8);
        JsonOutput.String(writer, sourceName);
        JsonOutput.Raw(writer, ", \"peer_uuid\": "u8);
        JsonOutput.Guid(writer, peerUuid);
        JsonOutput.Raw(writer, ", \"description_type\": "u8);
        JsonOutput.String(writer, descriptionType);
        JsonOutput.Raw(writer, ", \"description\": "u8);
        JsonOutput.String(writer, description);
        JsonOutput.Raw(writer, ", \"error\": "u8);
        JsonOutput.String(writer, error);
        JsonOutput.Raw(writer, ", \"message_type\": \"peer_connection\"}"u8);
    }

    /// <summary>
    /// Recognises a <c>peer_connection</c> laid out exactly as Python's <c>json.dumps</c> writes it (the reference
    /// client's and the relay's own layout: its key order and separators, canonical UUIDs with <c>peer_uuid</c> in lower
    /// case, nothing after the object), checking what <see cref="TryDecode"/> checks, without decoding its strings.
    /// The relay forwards such a message by writing the sender's identity in front of <paramref name="tail"/>
    /// (<see cref="WriteStampedPeerConnection(IBufferWriter{byte}, Guid, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>). Returns false for any other input, valid or not: decode that with
    /// <see cref="TryDecode"/>.
    /// </summary>
    /// <param name="utf8Json">The bytes of one text frame.</param>
    /// <param name="peerUuid">The <c>peer_uuid</c> when this returns <see langword="true"/>.</param>
    /// <param name="tail">The message from the end of <c>source_name</c> on, when this returns <see langword="true"/>.</param>
    /// <returns><see langword="true"/> when the input is a valid <c>peer_connection</c> in that layout.</returns>
    public static bool TryMatchPeerConnection(ReadOnlySpan<byte> utf8Json, out Guid peerUuid, out ReadOnlySpan<byte> tail) =>
        CanonicalPeerConnection.TryMatch(utf8Json, out peerUuid, out tail);

    /// <summary>
    /// Writes a <c>peer_connection</c> matched by <see cref="TryMatchPeerConnection"/> with the sender's identity: the
    /// same bytes <see cref="WritePeerConnection"/> writes for the decoded message with that identity.
    /// </summary>
    /// <param name="writer">Where the bytes go.</param>
    /// <param name="sourceUuid">The <c>source_uuid</c> to write.</param>
    /// <param name="escapedSourceName">The <c>source_name</c> to write, escaped.</param>
    /// <param name="tail">The tail given by <see cref="TryMatchPeerConnection"/>.</param>
    public static void WriteStampedPeerConnection(IBufferWriter<byte> writer, Guid sourceUuid, scoped ReadOnlySpan<byte> escapedSourceName, scoped ReadOnlySpan<byte> tail)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var size = GetStampedPeerConnectionLength(escapedSourceName, tail);
        var span = writer.GetSpan(size);
        if (span.Length < size)
        {
            var rented = ArrayPool<byte>.Shared.Rent(size);
            WriteStampedPeerConnection(rented, sourceUuid, escapedSourceName, tail);
            JsonOutput.Raw(writer, rented.AsSpan(0, size));
            ArrayPool<byte>.Shared.Return(rented);
            return;
        }

        writer.Advance(WriteStampedPeerConnection(span, sourceUuid, escapedSourceName, tail));
    }

    /// <summary>
    /// Writes what <see cref="WriteStampedPeerConnection(IBufferWriter{byte}, Guid, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>
    /// writes into <paramref name="destination"/>, which must hold
    /// <see cref="GetStampedPeerConnectionLength"/> bytes (a relay writes it straight behind a frame header).
    /// </summary>
    /// <param name="destination">Where the bytes go.</param>
    /// <param name="sourceUuid">The <c>source_uuid</c> to write.</param>
    /// <param name="escapedSourceName">The <c>source_name</c> to write, escaped.</param>
    /// <param name="tail">The tail given by <see cref="TryMatchPeerConnection"/>.</param>
    /// <returns>The number of bytes written.</returns>
    public static int WriteStampedPeerConnection(Span<byte> destination, Guid sourceUuid, scoped ReadOnlySpan<byte> escapedSourceName, scoped ReadOnlySpan<byte> tail)
    {
        var size = GetStampedPeerConnectionLength(escapedSourceName, tail);
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, size, nameof(destination));
        var n = 0;
        Put(destination, ref n, CanonicalPeerConnection.Head);
        sourceUuid.TryFormat(destination[n..], out var w, "D");
        n += w;
        Put(destination, ref n, CanonicalPeerConnection.AfterSourceUuid);
        Put(destination, ref n, escapedSourceName);
        Put(destination, ref n, tail);
        return n;
    }

    /// <summary>The length of what <see cref="WriteStampedPeerConnection(Span{byte}, Guid, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> writes.</summary>
    /// <param name="escapedSourceName">The <c>source_name</c> to write, escaped.</param>
    /// <param name="tail">The tail given by <see cref="TryMatchPeerConnection"/>.</param>
    /// <returns>The length in bytes.</returns>
    public static int GetStampedPeerConnectionLength(scoped ReadOnlySpan<byte> escapedSourceName, scoped ReadOnlySpan<byte> tail)
    {
        if (!tail.StartsWith(CanonicalPeerConnection.AfterSourceName))
        {
            throw new ArgumentException("Not a tail matched by TryMatchPeerConnection.", nameof(tail));
        }

        return CanonicalPeerConnection.Head.Length + 36 + CanonicalPeerConnection.AfterSourceUuid.Length + escapedSourceName.Length + tail.Length;
    }

    /// <summary>
    /// Escapes <paramref name="value"/> as JSON string content (without quotes), the way Python's <c>json.dumps</c>
    /// does. Use it to prepare a <see cref="RawJsonString"/> once and write it many times.
    /// </summary>
    /// <param name="value">The text.</param>
    /// <returns>Escaped UTF-8 bytes (ASCII only).</returns>
    public static byte[] EscapeString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return JsonOutput.EscapeToArray(value);
    }

    private static void Put(Span<byte> span, ref int n, scoped ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[n..]);
        n += bytes.Length;
    }

    private static int KeyOf(ref Utf8JsonReader reader)
    {
        // Ordered by how often keys occur on the hot path (peer_connection). Keys are compared as UTF-8 bytes:
        // ValueTextEquals(string) would transcode the key on every call, which was most of the decoding time.
        if (!reader.ValueIsEscaped)
        {
            var key = reader.ValueSpan;
            for (var i = KeyCount - 1; i >= 0; i--)
            {
                if (key.SequenceEqual(KeyNamesUtf8[i]))
                {
                    return i;
                }
            }

            return -1;
        }

        for (var i = KeyCount - 1; i >= 0; i--)
        {
            if (reader.ValueTextEquals(KeyNamesUtf8[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static int LowestBit(int mask) => System.Numerics.BitOperations.TrailingZeroCount(mask);

    private static bool TryString(
        ReadOnlySpan<byte> input, Field field, int key, bool nullable, out RawJsonString value, [NotNullWhen(false)] out string? error)
    {
        if (field.Token == JsonTokenType.String)
        {
            value = new RawJsonString(input.Slice(field.Start, field.Length), field.Escaped);
            error = null;
            return true;
        }

        if (field.Token == JsonTokenType.None || (nullable && field.Token == JsonTokenType.Null))
        {
            value = RawJsonString.Null;
            error = null;
            return true;
        }

        value = default;
        error = $"key '{KeyNames[key]}' must be a string";
        return false;
    }

    private static bool TryBool(Field field, int key, bool defaultValue, out bool value, [NotNullWhen(false)] out string? error)
    {
        error = null;
        switch (field.Token)
        {
            case JsonTokenType.None: value = defaultValue; return true;
            case JsonTokenType.True: value = true; return true;
            case JsonTokenType.False: value = false; return true;
            default:
                value = false;
                error = $"key '{KeyNames[key]}' must be true or false";
                return false;
        }
    }

    private static bool TryUuid(ReadOnlySpan<byte> input, Field field, int key, out Guid value, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (field.Token == JsonTokenType.String)
        {
            var raw = input.Slice(field.Start, field.Length);
            var ok = field.Escaped
                ? PythonUuid.TryParse(new RawJsonString(raw, hasEscapes: true).GetString(), out value)
                : PythonUuid.TryParse(raw, out value);
            if (ok)
            {
                return true;
            }
        }

        value = default;
        error = $"key '{KeyNames[key]}' is not a valid UUID";
        return false;
    }

    private struct Field
    {
        public JsonTokenType Token;
        public int Start;
        public int Length;
        public bool Escaped;
    }

    [InlineArray(KeyCount)]
    private struct Fields
    {
        private Field _element;
    }
}
