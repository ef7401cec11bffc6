using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>
/// A minimal client that behaves like ProxyStore's RelayClient: registers right after connecting and reconnects
/// with jittered back-off whenever the socket ends with a recoverable close. Written for the restart test because
/// PeerRelay.Client was not on main yet; deliberately independent of it.
/// </summary>
internal sealed class ReconnectingTestClient : IAsyncDisposable
{
    private readonly Uri _uri;
    private readonly Action<ClientWebSocketOptions>? _configure;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<JsonObject> _received = Channel.CreateUnbounded<JsonObject>();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Random _random;
    private ClientWebSocket? _socket;
    private Task? _run;
    private int _registrations;

    public ReconnectingTestClient(Uri uri, Guid id, int seed, Action<ClientWebSocketOptions>? configure = null)
    {
        _uri = uri;
        Id = id;
        _configure = configure;
        _random = new Random(seed);
    }

    public Guid Id { get; }

    /// <summary>Gets how many times the server confirmed a registration (one per connection).</summary>
    public int Registrations => Volatile.Read(ref _registrations);

    /// <summary>Gets the last close code seen (0 before any).</summary>
    public int LastCloseCode { get; private set; }

    public ChannelReader<JsonObject> Received => _received.Reader;

    public void Start() => _run = RunAsync(_stop.Token);

    public async Task SendAsync(string text)
    {
        await _sendLock.WaitAsync();
        try
        {
            var socket = _socket ?? throw new InvalidOperationException("Not connected.");
            await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket?.Abort();
        if (_run is not null)
        {
            await _run;
        }

        _socket?.Dispose();
        _received.Writer.TryComplete();
        _stop.Dispose();
        _sendLock.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            _configure?.Invoke(socket.Options);
            try
            {
                await socket.ConnectAsync(_uri, cancellationToken);
                _socket = socket;
                await SendAsync(TestRelayClient.Registration(Id));
                attempt = 0;
                await ReadLoopAsync(socket, cancellationToken);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or TimeoutException)
            {
            }
            finally
            {
                socket.Dispose();
            }

            if (LastCloseCode is 4001 or 4002 or 4004 || cancellationToken.IsCancellationRequested)
            {
                return; // Final, as for ProxyStore's client.
            }

            // Capped exponential back-off with full jitter (ProxyStore starts at 1 s; tests use a faster base).
            var cap = Math.Min(1000, 25 << Math.Min(attempt++, 6));
            try
            {
                await Task.Delay(_random.Next(cap / 2, cap + 1), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ReadLoopAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                LastCloseCode = (int)(result.CloseStatus ?? 0);
                await socket.CloseOutputAsync(result.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, cancellationToken);
                return;
            }

            message.Write(buffer, 0, result.Count);
            if (!result.EndOfMessage)
            {
                continue;
            }

            var json = JsonNode.Parse(message.ToArray())!.AsObject();
            message.SetLength(0);
            if (json["message_type"]?.GetValue<string>() == "relay_response" && json["success"]?.GetValue<bool>() == true)
            {
                Interlocked.Increment(ref _registrations);
            }
            else
            {
                _received.Writer.TryWrite(json);
            }
        }
    }
}
