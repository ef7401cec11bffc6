using System.Buffers;
using System.Net;
using System.Text;
using PeerRelay.Server.Internal.WebSockets;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>Recognizing a WebSocket upgrade from a connection's first bytes (RFC 6455, 4.2.1; RFC 9112).</summary>
public sealed class UpgradeRequestTests
{
    private const int MaxHead = 32 * 1024;
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    /// <summary>What Chrome sends (header order and values as captured), with its key.</summary>
    private const string Chrome =
        "GET /relay HTTP/1.1\r\n" +
        "Host: relay.example.org:8700\r\n" +
        "Connection: Upgrade\r\n" +
        "Pragma: no-cache\r\n" +
        "Cache-Control: no-cache\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
        "Upgrade: websocket\r\n" +
        "Origin: https://app.example.org\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Accept-Language: en-US,en;q=0.9\r\n" +
        "Sec-WebSocket-Key: " + Key + "\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
        "\r\n";

    /// <summary>What Firefox sends: <c>Connection: keep-alive, Upgrade</c>.</summary>
    private const string Firefox =
        "GET / HTTP/1.1\r\n" +
        "Host: 127.0.0.1:8700\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\n" +
        "Accept: */*\r\n" +
        "Accept-Language: en-US,en;q=0.5\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Origin: http://127.0.0.1:8700\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate\r\n" +
        "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" +
        "Connection: keep-alive, Upgrade\r\n" +
        "Sec-Fetch-Dest: empty\r\n" +
        "Sec-Fetch-Mode: websocket\r\n" +
        "Sec-Fetch-Site: same-origin\r\n" +
        "Pragma: no-cache\r\n" +
        "Cache-Control: no-cache\r\n" +
        "Upgrade: websocket\r\n" +
        "\r\n";

    /// <summary>What Python websockets (the ProxyStore endpoints' client) sends.</summary>
    private const string PythonWebsockets =
        "GET /?access_token=abc.def HTTP/1.1\r\n" +
        "Host: localhost:8700\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
        "Authorization: Bearer abc.def\r\n" +
        "User-Agent: Python/3.12 websockets/13.1\r\n" +
        "\r\n";

    /// <summary>The smallest valid upgrade, which the refusal cases below break one way each.</summary>
    private const string Minimal =
        "GET / HTTP/1.1\r\n" +
        "Host: 127.0.0.1\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Key: " + Key + "\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "\r\n";

    [Theory]
    [InlineData(Chrome, Key)]
    [InlineData(Firefox, "x3JJHMbDL1EzLkh9GBhXDw==")]
    [InlineData(PythonWebsockets, "AQIDBAUGBwgJCgsMDQ4PEA==")]
    [InlineData(Minimal, Key)]
    public void TryParse_RealClientRequest_IsUpgradeEndingAtTheBody(string head, string key)
    {
        // A client may send its first frame right behind the head; it must stay unread.
        var frame = ClientFrame.Text("{}");
        var (status, request, consumed) = Parse([.. Encoding.ASCII.GetBytes(head), .. frame]);
        Assert.Equal(UpgradeParse.Upgrade, status);
        Assert.Equal(key, Encoding.ASCII.GetString(request!.Key));
        Assert.Equal(Encoding.ASCII.GetByteCount(head), consumed);
    }

    [Fact]
    public void TryParse_HeaderNamesAndTokensInOtherCases_IsUpgrade()
    {
        var head =
            "GET /x HTTP/1.1\r\n" +
            "HOST: a\r\n" +
            "upgrade: WebSocket\r\n" +
            "CONNECTION: UPGRADE\r\n" +
            "sec-websocket-key: " + Key + "\r\n" +
            "SEC-WEBSOCKET-VERSION: 13\r\n" +
            "\r\n";
        var (status, request, _) = Parse(Encoding.ASCII.GetBytes(head));
        Assert.Equal(UpgradeParse.Upgrade, status);
        Assert.Equal(Key, Encoding.ASCII.GetString(request!.Key));
    }

    [Theory]
    [InlineData("Sec-WebSocket-Key:" + Key)]
    [InlineData("Sec-WebSocket-Key:    " + Key + "   ")]
    [InlineData("Sec-WebSocket-Key:\t" + Key + "\t")]
    public void TryParse_WhitespaceAroundTheKey_KeyIsTrimmed(string keyLine)
    {
        var head = Minimal.Replace("Sec-WebSocket-Key: " + Key, keyLine, StringComparison.Ordinal);
        var (status, request, _) = Parse(Encoding.ASCII.GetBytes(head));
        Assert.Equal(UpgradeParse.Upgrade, status);
        Assert.Equal(Key, Encoding.ASCII.GetString(request!.Key));
    }

    [Theory]
    [InlineData("Connection: keep-alive, Upgrade")]
    [InlineData("Connection: Upgrade,keep-alive")]
    [InlineData("Connection: keep-alive ,\tupgrade ")]
    public void TryParse_ConnectionWithSeveralTokens_IsUpgrade(string connection)
    {
        var head = Minimal.Replace("Connection: Upgrade", connection, StringComparison.Ordinal);
        Assert.Equal(UpgradeParse.Upgrade, Parse(Encoding.ASCII.GetBytes(head)).Status);
    }

    public static TheoryData<string, string> Refused => new()
    {
        { "no key", Minimal.Replace("Sec-WebSocket-Key: " + Key + "\r\n", string.Empty, StringComparison.Ordinal) },
        { "version 8", Minimal.Replace("Version: 13", "Version: 8", StringComparison.Ordinal) },
        { "no version", Minimal.Replace("Sec-WebSocket-Version: 13\r\n", string.Empty, StringComparison.Ordinal) },
        { "key not base64", Minimal.Replace(Key, "!!!!!!!!!!!!!!!!!!!!!!==", StringComparison.Ordinal) },
        { "key of 17 bytes", Minimal.Replace(Key, "AAAAAAAAAAAAAAAAAAAAAAA=", StringComparison.Ordinal) },
        { "key of 18 bytes", Minimal.Replace(Key, "AAAAAAAAAAAAAAAAAAAAAAAA", StringComparison.Ordinal) },
        { "key of 15 bytes", Minimal.Replace(Key, "AAAAAAAAAAAAAAAAAAAA", StringComparison.Ordinal) },
        { "no Host", Minimal.Replace("Host: 127.0.0.1\r\n", string.Empty, StringComparison.Ordinal) },
        { "two Host", Minimal.Replace("Host: 127.0.0.1\r\n", "Host: 127.0.0.1\r\nHost: evil.example\r\n", StringComparison.Ordinal) },
        { "no Upgrade", Minimal.Replace("Upgrade: websocket\r\n", string.Empty, StringComparison.Ordinal) },
        { "Upgrade: h2c", Minimal.Replace("Upgrade: websocket", "Upgrade: h2c", StringComparison.Ordinal) },
        { "Connection: keep-alive", Minimal.Replace("Connection: Upgrade", "Connection: keep-alive", StringComparison.Ordinal) },
        { "POST", Minimal.Replace("GET /", "POST /", StringComparison.Ordinal) },
        { "HTTP/1.0", Minimal.Replace("HTTP/1.1", "HTTP/1.0", StringComparison.Ordinal) },
        { "absolute-form target", Minimal.Replace("GET / ", "GET http://127.0.0.1/ ", StringComparison.Ordinal) },
        { "space in target", Minimal.Replace("GET / ", "GET /a b ", StringComparison.Ordinal) },
        { "obs-fold", Minimal.Replace("Upgrade: websocket\r\n", "Upgrade: websocket\r\nX-Folded: one\r\n two\r\n", StringComparison.Ordinal) },
        { "obs-fold with colon", Minimal.Replace("Upgrade: websocket\r\n", "Upgrade: websocket\r\nX-Folded: one\r\n\tx: two\r\n", StringComparison.Ordinal) },
        { "space before colon", Minimal.Replace("Host: ", "Host : ", StringComparison.Ordinal) },
        { "bare CR", Minimal.Replace("Upgrade: websocket\r\n", "Upgrade: websocket\r\nX-A: b\rc\r\n", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void TryParse_NotAValidUpgrade_IsNotUpgrade(string why, string head)
    {
        var (status, request, _) = Parse(Encoding.ASCII.GetBytes(head));
        Assert.True(status == UpgradeParse.NotUpgrade, $"{why}: {status}");
        Assert.Null(request);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(40)]
    [InlineData(-2)] // Inside the final CRLF CRLF.
    [InlineData(-1)]
    public void TryParse_HeadSplitOverTwoReads_NeedsMoreThenUpgrades(int cut)
    {
        var bytes = Encoding.ASCII.GetBytes(Chrome);
        var at = cut >= 0 ? cut : bytes.Length + cut;
        var (first, firstRequest, _) = Parse(bytes[..at]);
        Assert.Equal(UpgradeParse.NeedMore, first);
        Assert.Null(firstRequest);

        // The second read: the kept first part and what came since, in two segments as a pipe holds them.
        var buffer = Segments.Of(bytes[..at], bytes[at..]);
        var status = UpgradeRequest.TryParse(buffer, MaxHead, keepHead: true, out var request, out var end);
        Assert.Equal(UpgradeParse.Upgrade, status);
        Assert.Equal(Key, Encoding.ASCII.GetString(request!.Key));
        Assert.Equal(bytes.Length, buffer.Slice(buffer.Start, end).Length);
    }

    [Theory]
    [InlineData("G")]
    [InlineData("GE")]
    [InlineData("GET")]
    [InlineData("GET ")]
    [InlineData("GET /")]
    public void TryParse_TooShortToTell_NeedsMore(string start) =>
        Assert.Equal(UpgradeParse.NeedMore, Parse(Encoding.ASCII.GetBytes(start)).Status);

    [Theory]
    [InlineData("POST")]
    [InlineData("HEAD / HTTP/1.1\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n")]
    [InlineData("\u0016\u0003\u0001\u0002")] // A TLS ClientHello on a plain port.
    [InlineData("get / HTTP/1.1\r\n")]
    public void TryParse_NotGetStart_IsNotUpgradeAtOnce(string start) =>
        Assert.Equal(UpgradeParse.NotUpgrade, Parse(Encoding.Latin1.GetBytes(start)).Status);

    [Fact]
    public void TryParse_HeadLongerThanTheLimitWithoutEnd_IsNotUpgrade()
    {
        const int Limit = 1024;
        var start = "GET / HTTP/1.1\r\nHost: a\r\nX-Padding: ";
        var underLimit = Encoding.ASCII.GetBytes(start + new string('p', Limit - start.Length));
        Assert.Equal(UpgradeParse.NeedMore, Parse(underLimit, Limit).Status);
        var overLimit = Encoding.ASCII.GetBytes(start + new string('p', Limit - start.Length + 1));
        Assert.Equal(UpgradeParse.NotUpgrade, Parse(overLimit, Limit).Status);
    }

    [Fact]
    public void TryParse_WholeHeadLongerThanTheLimit_IsNotUpgrade()
    {
        var head = Minimal.Replace("\r\n\r\n", "\r\nX-Padding: " + new string('p', 1100) + "\r\n\r\n", StringComparison.Ordinal);
        Assert.Equal(UpgradeParse.NotUpgrade, Parse(Encoding.ASCII.GetBytes(head), 1024).Status);
        Assert.Equal(UpgradeParse.Upgrade, Parse(Encoding.ASCII.GetBytes(head), 2048).Status);
    }

    [Fact]
    public void ToHandshake_PythonRequest_GivesHeadersAndQueryBack()
    {
        var (status, request, _) = Parse(Encoding.ASCII.GetBytes(PythonWebsockets));
        Assert.Equal(UpgradeParse.Upgrade, status);
        var handshake = UpgradeRequest.ToHandshake(request!.Head!, IPAddress.Parse("192.0.2.7"));
        Assert.Equal("Bearer abc.def", handshake.Headers.Authorization.ToString());
        Assert.Equal("localhost:8700", handshake.Headers.Host.ToString());
        Assert.Equal("abc.def", handshake.Query["access_token"].ToString());
        Assert.Equal(IPAddress.Parse("192.0.2.7"), handshake.RemoteAddress);
        Assert.True(handshake.TryGetBearerToken(out var token, out _));
        Assert.Equal("abc.def", token);
    }

    [Fact]
    public void ToHandshake_PercentEncodedQueryAndRepeatedHeader_AreDecodedAndKept()
    {
        var head = Minimal
            .Replace("GET / ", "GET /relay?access_token=a%2Bb%3D&x=1 ", StringComparison.Ordinal)
            .Replace("Host: 127.0.0.1\r\n", "Host: 127.0.0.1\r\nX-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 198.51.100.2\r\n", StringComparison.Ordinal);
        var (_, request, _) = Parse(Encoding.ASCII.GetBytes(head));
        var handshake = UpgradeRequest.ToHandshake(request!.Head!, null);
        Assert.Equal("a+b=", handshake.Query["access_token"].ToString());
        Assert.Equal("1", handshake.Query["x"].ToString());
        Assert.Equal(new[] { "198.51.100.1", "198.51.100.2" }, handshake.Headers["X-Forwarded-For"].ToArray());
        Assert.Equal(handshake.Headers["X-Forwarded-For"], request.Headers["x-forwarded-for"]);
    }

    [Fact]
    public void ToHandshake_NoQuery_IsEmptyQuery()
    {
        var (_, request, _) = Parse(Encoding.ASCII.GetBytes(Minimal));
        var handshake = UpgradeRequest.ToHandshake(request!.Head!, null);
        Assert.Empty(handshake.Query);
        Assert.False(handshake.TryGetBearerToken(out _, out _));
    }

    [Fact]
    public void TryParse_HeadNotKept_KeepsTheKeyOnly()
    {
        var (status, request, consumed) = Parse(Encoding.ASCII.GetBytes(Chrome), keepHead: false);
        Assert.Equal(UpgradeParse.Upgrade, status);
        Assert.Equal(Key, Encoding.ASCII.GetString(request!.Key));
        Assert.Equal(Chrome.Length, consumed);
        Assert.Null(request.Head);
        Assert.Throws<InvalidOperationException>(() => request.Headers);
    }

    private static (UpgradeParse Status, UpgradeRequest? Request, long Consumed) Parse(byte[] bytes, int maxHead = MaxHead, bool keepHead = true)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        var status = UpgradeRequest.TryParse(buffer, maxHead, keepHead, out var request, out var end);
        return (status, request, buffer.Slice(buffer.Start, end).Length);
    }
}
