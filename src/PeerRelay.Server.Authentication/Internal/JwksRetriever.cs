using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace PeerRelay.Server.Authentication.Internal;

/// <summary>Reads a bare JSON Web Key Set (<c>jwks_url</c>) into the configuration type discovery produces.</summary>
internal sealed class JwksRetriever : IConfigurationRetriever<OpenIdConnectConfiguration>
{
    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
    {
        var json = await retriever.GetDocumentAsync(address, cancel);
        var keys = new JsonWebKeySet(json);
        var configuration = new OpenIdConnectConfiguration { JwksUri = address, JsonWebKeySet = keys };
        foreach (var key in keys.GetSigningKeys())
        {
            configuration.SigningKeys.Add(key);
        }

        return configuration;
    }
}
