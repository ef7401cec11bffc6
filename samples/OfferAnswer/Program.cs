// Two processes find each other through a PeerRelay relay and swap a WebRTC offer and answer.
//   dotnet run -- answer ws://127.0.0.1:8700/ [room]   waits in the room for an offer and answers it
//   dotnet run -- offer  ws://127.0.0.1:8700/ [room]   sends an offer to the room and prints the answer
// The room name fixes the answerer's UUID, so the offerer knows where to send without any other channel.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PeerRelay.Client;

if (args.Length < 2 || args[0] is not ("offer" or "answer"))
{
    Console.Error.WriteLine("usage: OfferAnswer offer|answer ws://HOST:PORT/ [room]");
    return 2;
}

var role = args[0];
var room = args.Length > 2 ? args[2] : "demo";
var answererUuid = RoomUuid(room);

await using var client = new RelayClient(new RelayClientOptions
{
    Address = new Uri(args[1]), // Only ws:// and wss:// are accepted; anything else throws ArgumentException here.
    Name = $"offer-answer-{role}",
    Uuid = role == "answer" ? answererUuid : Guid.NewGuid(),
    HeadersProvider = _ => ValueTask.FromResult(Headers()),
});
client.StateChanged += (_, e) =>
    Console.WriteLine($"[{role}] {e.State}{(e.Error is null ? string.Empty : $" ({e.Error.Message})")}");

using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
try
{
    await client.ConnectAsync(timeout.Token);
    return role == "answer" ? await AnswerAsync(client, timeout.Token) : await OfferAsync(client, answererUuid, timeout.Token);
}
catch (RelayRejectedException ex)
{
    // 4001/4002 (token), 4004 (the same room answered elsewhere): retrying would not help.
    Console.Error.WriteLine($"[{role}] {ex.Message}");
    return 1;
}

static async Task<int> AnswerAsync(RelayClient client, CancellationToken cancellationToken)
{
    Console.WriteLine($"[answer] waiting for an offer as {client.Uuid}");
    await foreach (var message in client.Messages.ReadAllAsync(cancellationToken))
    {
        if (message.DescriptionType != "offer" || message.Error is not null)
        {
            continue;
        }

        Console.WriteLine($"[answer] got an offer from {message.SourceName} ({message.SourceUuid}): {message.Description}");

        // A real application hands the offer to its WebRTC stack and sends back the answer it creates.
        await client.SendAsync(message.SourceUuid, "answer", Sdp("answer"), cancellationToken);
        Console.WriteLine("[answer] sent the answer");
        return 0;
    }

    return 1;
}

static async Task<int> OfferAsync(RelayClient client, Guid answerer, CancellationToken cancellationToken)
{
    while (true)
    {
        await client.SendAsync(answerer, "offer", Sdp("offer"), cancellationToken);
        Console.WriteLine($"[offer] sent an offer to {answerer}");
        var reply = await client.Messages.ReadAsync(cancellationToken);
        if (reply.Error is not null)
        {
            // The relay sends an offer it cannot deliver back with an error: nobody is in the room yet.
            Console.WriteLine($"[offer] no answerer yet ({reply.Error}); trying again in 1 s");
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            continue;
        }

        if (reply.DescriptionType == "answer")
        {
            Console.WriteLine($"[offer] got the answer from {reply.SourceName} ({reply.SourceUuid}): {reply.Description}");
            return 0;
        }
    }
}

// The description is a JSON string holding the SDP, as ProxyStore and browsers send it.
static string Sdp(string type) => JsonSerializer.Serialize(new Dictionary<string, string>
{
    ["sdp"] = $"v=0\r\no=- {Random.Shared.NextInt64(1, long.MaxValue)} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
    ["type"] = type,
});

// A stable UUID per room name: the answerer registers as it and the offerer addresses it.
static Guid RoomUuid(string room)
{
    var hash = SHA256.HashData(Encoding.UTF8.GetBytes("peerrelay-sample-room:" + room));
    hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5-style (name-based)
    hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
    return new Guid(hash.AsSpan(0, 16), bigEndian: true);
}

// A relay with authentication wants a bearer token; read afresh on every reconnect, so a refreshed token is used.
static IReadOnlyDictionary<string, string> Headers() =>
    Environment.GetEnvironmentVariable("PEERRELAY_TOKEN") is { Length: > 0 } token
        ? new Dictionary<string, string> { ["Authorization"] = "Bearer " + token }
        : new Dictionary<string, string>();
