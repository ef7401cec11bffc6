namespace PeerRelay.Server.Redis.Internal;

/// <summary>One argument of a <see cref="RedisRequest"/>: text, a number or bytes, encoded as a RESP bulk string.</summary>
internal readonly struct RespArg
{
    private readonly string? _text;
    private readonly byte[]? _bytes;
    private readonly long _number;

    private RespArg(string? text, byte[]? bytes, long number)
    {
        _text = text;
        _bytes = bytes;
        _number = number;
    }

    public static implicit operator RespArg(string text) => new(text, null, 0);

    public static implicit operator RespArg(byte[] bytes) => new(null, bytes, 0);

    public static implicit operator RespArg(long number) => new(null, null, number);

    public void WriteTo(RespBuffer buffer)
    {
        if (_text is not null)
        {
            buffer.WriteBulk(_text);
        }
        else if (_bytes is not null)
        {
            buffer.WriteBulk(_bytes);
        }
        else
        {
            buffer.WriteBulk(_number);
        }
    }

    public override string ToString() => _text ?? (_bytes is null ? _number.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{_bytes.Length} bytes");
}
