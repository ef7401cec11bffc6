using System.Text;

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

        return Unescape(Escaped);
    }

    /// <summary>
    /// Unescapes JSON string content. Lone surrogates (valid JSON, and accepted by Python) become U+FFFD instead of
    /// failing, so no client text can make decoding throw.
    /// </summary>
    private static string Unescape(ReadOnlySpan<byte> escaped)
    {
        var builder = new StringBuilder(escaped.Length);
        var i = 0;
        while (i < escaped.Length)
        {
            var next = escaped[i..].IndexOf((byte)'\\');
            var plain = next < 0 ? escaped[i..] : escaped.Slice(i, next);
            builder.Append(Encoding.UTF8.GetString(plain));
            if (next < 0)
            {
                break;
            }

            i += next + 1;
            var c = escaped[i++];
            switch (c)
            {
                case (byte)'n': builder.Append('\n'); break;
                case (byte)'r': builder.Append('\r'); break;
                case (byte)'t': builder.Append('\t'); break;
                case (byte)'b': builder.Append('\b'); break;
                case (byte)'f': builder.Append('\f'); break;
                case (byte)'u':
                    builder.Append((char)Convert.ToUInt16(Encoding.ASCII.GetString(escaped.Slice(i, 4)), 16));
                    i += 4;
                    break;
                default: builder.Append((char)c); break; // \" \\ \/
            }
        }

        // Replace lone surrogates, which a .NET string can hold but UTF-8 cannot.
        for (var k = 0; k < builder.Length; k++)
        {
            if (char.IsHighSurrogate(builder[k]) && k + 1 < builder.Length && char.IsLowSurrogate(builder[k + 1]))
            {
                k++;
            }
            else if (char.IsSurrogate(builder[k]))
            {
                builder[k] = '\uFFFD';
            }
        }

        return builder.ToString();
    }

    /// <summary>Decodes the value; see <see cref="GetString"/>.</summary>
    /// <returns>The decoded string, or an empty string for JSON null.</returns>
    public override string ToString() => GetString() ?? string.Empty;
}
