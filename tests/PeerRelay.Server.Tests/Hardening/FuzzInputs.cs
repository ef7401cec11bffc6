using System.Text;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>
/// Generates hostile relay input from a seeded <see cref="Random"/>: the same seed gives the same bytes, so any
/// failure reproduces with <c>PEERRELAY_FUZZ_SEED</c>.
/// </summary>
internal static class FuzzInputs
{
    private const string MutationChars = "{}[]\",:\\0aeE-+.tfn ";
    private static readonly string[] InvalidUtf8 = ["\xC0\xAF", "\xFF", "\xED\xA0\x80", "\xE2\x82", "\xF8\x88\x80\x80\x80", "\x80", "\xF4\x90\x80\x80"];
    private static readonly string[] LoneSurrogates = ["\\ud800", "\\udc00", "\\ud800x", "\\udbff\\udbff", "\\udfff\\ud800", "\\ud83d"];
    private static readonly string[] HugeNumbers = ["1e999999", "-1e400", "123456789012345678901234567890", "0.0000000000000000000000000001e-999", "NaN", "Infinity", "-0", "1E+2147483648"];

    /// <summary>One JSON-ish text payload (may be invalid UTF-8 on purpose).</summary>
    public static byte[] Payload(Random r)
    {
        var kind = r.Next(12);
        return kind switch
        {
            0 => RandomBytes(r, r.Next(0, 300)),
            1 => Truncate(r, Valid(r)),
            2 or 3 => Mutate(r, Valid(r)),
            4 => Encoding.UTF8.GetBytes(DeepNesting(r)),
            5 => Encoding.UTF8.GetBytes(WithValue(r, HugeNumbers[r.Next(HugeNumbers.Length)])),
            6 => InvalidUtf8Payload(r),
            7 => Encoding.UTF8.GetBytes(WithValue(r, $"\"{LoneSurrogates[r.Next(LoneSurrogates.Length)]}\"")),
            8 => Encoding.UTF8.GetBytes(DuplicateKeys(r)),
            9 => Encoding.UTF8.GetBytes(WrongTypes(r)),
            10 => Encoding.UTF8.GetBytes(RandomJson(r, 0)),
            _ => Valid(r),
        };
    }

    /// <summary>A valid message of a random type, with random (but valid) values.</summary>
    public static byte[] Valid(Random r)
    {
        var a = NewGuid(r);
        var b = NewGuid(r);
        var text = r.Next(3) switch
        {
            0 => $$"""{"name": "{{Name(r)}}", "uuid": "{{a}}", "message_type": "relay_registration"}""",
            1 => $$"""{"source_uuid": "{{a}}", "source_name": "{{Name(r)}}", "peer_uuid": "{{b}}", "description_type": "offer", "description": "{\"sdp\": \"v=0\\r\\n{{Name(r)}}\", \"type\": \"offer\"}", "error": null, "message_type": "peer_connection"}""",
            _ => """{"success": true, "message": null, "error": false, "message_type": "relay_response"}""",
        };
        return Encoding.UTF8.GetBytes(text);
    }

    public static Guid NewGuid(Random r)
    {
        Span<byte> bytes = stackalloc byte[16];
        r.NextBytes(bytes);
        return new Guid(bytes);
    }

    private static string Name(Random r)
    {
        const string Alphabet = "abcXYZ019 _-é€😀\\\"";
        var length = r.Next(0, 12);
        var sb = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            var c = Alphabet[r.Next(Alphabet.Length)];
            if (c is '\\' or '"')
            {
                sb.Append('\\');
            }

            if (char.IsHighSurrogate(c))
            {
                sb.Append("😀");
                continue;
            }

            if (char.IsLowSurrogate(c))
            {
                continue;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static byte[] RandomBytes(Random r, int length)
    {
        var bytes = new byte[length];
        r.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Truncate(Random r, byte[] valid) => valid.AsSpan(0, r.Next(0, valid.Length)).ToArray();

    private static byte[] Mutate(Random r, byte[] valid)
    {
        var bytes = new List<byte>(valid);
        var edits = r.Next(1, 6);
        for (var i = 0; i < edits && bytes.Count > 0; i++)
        {
            var at = r.Next(bytes.Count);
            switch (r.Next(4))
            {
                case 0:
                    bytes[at] = (byte)r.Next(256);
                    break;
                case 1:
                    bytes.RemoveAt(at);
                    break;
                case 2:
                    bytes.Insert(at, (byte)MutationChars[r.Next(MutationChars.Length)]);
                    break;
                default:
                    bytes[at] ^= (byte)(1 << r.Next(8));
                    break;
            }
        }

        return [.. bytes];
    }

    private static string DeepNesting(Random r)
    {
        var depth = r.Next(2) == 0 ? r.Next(60, 70) : r.Next(100, 20_000);
        var open = r.Next(2) == 0 ? '[' : '{';
        var sb = new StringBuilder("{\"message_type\": \"relay_registration\", \"name\": ");
        for (var i = 0; i < depth; i++)
        {
            sb.Append(open == '[' ? "[" : "{\"a\": ");
        }

        sb.Append('1');
        for (var i = 0; i < depth; i++)
        {
            sb.Append(open == '[' ? ']' : '}');
        }

        return sb.Append(", \"uuid\": \"").Append(Guid.Empty).Append("\"}").ToString();
    }

    private static string WithValue(Random r, string value)
    {
        var uuid = NewGuid(r);
        return r.Next(4) switch
        {
            0 => $$"""{"name": {{value}}, "uuid": "{{uuid}}", "message_type": "relay_registration"}""",
            1 => $$"""{"name": "n", "uuid": {{value}}, "message_type": "relay_registration"}""",
            2 => $$"""{"source_uuid": "{{uuid}}", "source_name": {{value}}, "peer_uuid": "{{uuid}}", "description_type": {{value}}, "description": {{value}}, "error": null, "message_type": "peer_connection"}""",
            _ => $$"""{"success": {{value}}, "message": {{value}}, "error": false, "message_type": "relay_response"}""",
        };
    }

    private static byte[] InvalidUtf8Payload(Random r)
    {
        var prefix = Encoding.UTF8.GetBytes($$"""{"name": "a""");
        var bad = Encoding.Latin1.GetBytes(InvalidUtf8[r.Next(InvalidUtf8.Length)]);
        var suffix = Encoding.UTF8.GetBytes($$"""b", "uuid": "{{NewGuid(r)}}", "message_type": "relay_registration"}""");
        return [.. prefix, .. bad, .. suffix];
    }

    private static string DuplicateKeys(Random r)
    {
        var a = NewGuid(r);
        var b = NewGuid(r);
        return r.Next(3) switch
        {
            0 => $$"""{"name": "a", "name": "b", "uuid": "{{a}}", "message_type": "relay_registration"}""",
            1 => $$"""{"name": "a", "uuid": "{{a}}", "uuid": "{{b}}", "message_type": "relay_registration"}""",
            _ => $$"""{"name": "a", "uuid": "{{a}}", "message_type": "relay_registration", "message_type": "peer_connection"}""",
        };
    }

    private static string WrongTypes(Random r)
    {
        string[] values = ["null", "true", "1", "[]", "{}", "\"\"", "\"not-a-uuid\"", $"\"{NewGuid(r).ToString().ToUpperInvariant()}\"", $"\"{{{NewGuid(r)}}}\""];
        return WithValue(r, values[r.Next(values.Length)]);
    }

    private static string RandomJson(Random r, int depth)
    {
        switch (depth > 4 ? r.Next(4) : r.Next(6))
        {
            case 0: return "null";
            case 1: return r.Next(2) == 0 ? "true" : "false";
            case 2: return r.Next(-1000, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case 3: return $"\"{Name(r)}\"";
            case 4:
                var items = Enumerable.Range(0, r.Next(4)).Select(_ => RandomJson(r, depth + 1));
                return "[" + string.Join(", ", items) + "]";
            default:
                string[] keys = ["name", "uuid", "message_type", "peer_uuid", "x", "source_uuid", "description"];
                var pairs = Enumerable.Range(0, r.Next(5)).Select(_ =>
                {
                    var key = keys[r.Next(keys.Length)];
                    var value = key == "message_type" ? "\"relay_registration\"" : RandomJson(r, depth + 1);
                    return $"\"{key}\": {value}";
                });
                return "{" + string.Join(", ", pairs) + "}";
        }
    }
}
