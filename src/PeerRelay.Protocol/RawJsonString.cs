using System.Text;
using System.Text.Json;

namespace PeerRelay.Protocol;

/// <summary>
/// A JSON string value exactly as it stood in the input: the bytes between the quotes, still escaped. Lets the relay
/// pass a description through without decoding it into a <see cref="string"/>.
/// </summary>
public readonly ref struct RawJsonString
{
    /// <summary>Initializes a raw string over escaped bytes.</summary>
    /// <param name="escaped">The bytes between the quotes, as written in JSON.</param>
    /// <param name="hasEscapes">Whether <paramref name="escaped"/> contains a backslash escape.</param>
    public RawJsonString(ReadOnlySpan<byte> escaped, bool hasEscapes)
    {
        Escaped = escaped;
        HasEscapes = hasEscapes;
        IsNull = false;
    }

    private RawJsonString(bool isNull)
    {
        IsNull = isNull;
    }

    /// <summary>Gets a value standing for JSON <c>null</c>.</summary>
    public static RawJsonString Null => new(isNull: true);

    /// <summary>Gets the bytes between the quotes, still escaped. Empty for <see cref="IsNull"/>.</summary>
    public ReadOnlySpan<byte> Escaped { get; }

    /// <summary>Gets a value indicating whether <see cref="Escaped"/> holds a backslash escape.</summary>
    public bool HasEscapes { get; }

    /// <summary>Gets a value indicating whether the JSON value was <c>null</c>.</summary>
    public bool IsNull { get; }

    /// <summary>Decodes the value into a string (unescaping it), or returns <see langword="null"/> for JSON null.</summary>
    /// <returns>The decoded string.</returns>
    public string? GetString()
    {
        if (IsNull)
        {
            return null;
        }

        if (!HasEscapes)
        {
            return Encoding.UTF8.GetString(Escaped);
        }

        // Let the framework's reader unescape: wrap the bytes in quotes again.
        var quoted = new byte[Escaped.Length + 2];
        quoted[0] = (byte)'"';
        Escaped.CopyTo(quoted.AsSpan(1));
        quoted[^1] = (byte)'"';
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        return reader.GetString();
    }

    /// <summary>Decodes the value; see <see cref="GetString"/>.</summary>
    /// <returns>The decoded string, or an empty string for JSON null.</returns>
    public override string ToString() => GetString() ?? string.Empty;
}
