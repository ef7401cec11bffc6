using Microsoft.IdentityModel.Protocols;

namespace PeerRelay.Server.Authentication.Internal;

/// <summary>
/// Fetches discovery documents and key sets with a client from <see cref="IHttpClientFactory"/> (fresh handlers, DNS
/// changes seen), a time-out, and no plain http except on loopback.
/// </summary>
internal sealed class FactoryDocumentRetriever(IHttpClientFactory factory, string clientName, TimeSpan timeout) : IDocumentRetriever
{
    public async Task<string> GetDocumentAsync(string address, CancellationToken cancel)
    {
        var url = new Uri(address, UriKind.Absolute);
        if (!Endpoints.IsAllowed(url))
        {
            throw new IOException($"Refusing to fetch {address}: not https (plain http is allowed only on loopback).");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await factory.CreateClient(clientName).GetAsync(url, deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new IOException($"GET {address} answered HTTP {(int)response.StatusCode}.");
            }

            return await response.Content.ReadAsStringAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new IOException($"GET {address} timed out after {timeout.TotalSeconds} s.");
        }
    }
}
