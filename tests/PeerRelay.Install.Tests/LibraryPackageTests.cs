using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

namespace PeerRelay.Install.Tests;

/// <summary>The client libraries' packages carry a README, the license, XML docs, symbols and Source Link data.</summary>
[Collection(PackagesGroup.Name)]
public sealed class LibraryPackageTests(PackagesFixture packages)
{
    // Portable PDB custom debug information kinds (System.Reflection.Metadata, "PortablePdb-Metadata.md").
    private static readonly Guid EmbeddedSource = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");

    [Theory]
    [InlineData("PeerRelay.Protocol")]
    [InlineData("PeerRelay.Client")]
    public void LibraryPackage_HasReadmeLicenseDocsAndRepositoryCommit(string id)
    {
        using var package = ZipFile.OpenRead(packages.Package(id));
        var nuspec = Nuspec(package, id);
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;

        Assert.Equal("README.md", (string?)metadata.Element(ns + "readme"));
        var readme = new StreamReader(package.GetEntry("README.md")!.Open()).ReadToEnd();
        Assert.StartsWith($"# {id}", readme, StringComparison.Ordinal);
        var license = metadata.Element(ns + "license")!;
        Assert.Equal("expression", (string?)license.Attribute("type"));
        Assert.Equal("MIT", license.Value);
        Assert.False(string.IsNullOrWhiteSpace((string?)metadata.Element(ns + "description")));
        Assert.Matches("^[0-9a-f]{40}$", (string?)metadata.Element(ns + "repository")?.Attribute("commit") ?? string.Empty);
        Assert.NotNull(package.GetEntry($"lib/net10.0/{id}.dll"));
        Assert.NotNull(package.GetEntry($"lib/net10.0/{id}.xml"));
        if (id == "PeerRelay.Client")
        {
            var dependencies = metadata.Element(ns + "dependencies")!.Descendants(ns + "dependency").ToList();
            Assert.Contains(dependencies, d => (string?)d.Attribute("id") == "PeerRelay.Protocol" && ((string?)d.Attribute("version"))!.Contains(packages.Version, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("PeerRelay.Protocol")]
    [InlineData("PeerRelay.Client")]
    public void SymbolPackage_HoldsThePortablePdb_WithEverySourceEmbedded_MatchingTheDll(string id)
    {
        using var symbols = ZipFile.OpenRead(packages.Package(id, "snupkg"));
        using var package = ZipFile.OpenRead(packages.Package(id));
        using var pdbStream = Copy(symbols.GetEntry($"lib/net10.0/{id}.pdb")!);
        using var dllStream = Copy(package.GetEntry($"lib/net10.0/{id}.dll")!);

        using var provider = MetadataReaderProvider.FromPortablePdbStream(pdbStream);
        var pdb = provider.GetMetadataReader();
        var documents = pdb.Documents.ToList();
        Assert.NotEmpty(documents);
        var embedded = pdb.CustomDebugInformation
            .Select(pdb.GetCustomDebugInformation)
            .Where(info => pdb.GetGuid(info.Kind) == EmbeddedSource)
            .Select(info => info.Parent)
            .ToHashSet();
        foreach (var handle in documents)
        {
            var name = pdb.GetString(pdb.GetDocument(handle).Name);
            if (name.EndsWith(".cs", StringComparison.Ordinal) && !name.Contains("/obj/", StringComparison.Ordinal))
            {
                Assert.True(embedded.Contains(handle), $"{name} is not embedded in {id}.pdb");
            }
        }

        // The PDB is the DLL's: the DLL's CodeView entry names the PDB's id.
        using var pe = new PEReader(dllStream);
        var codeView = pe.ReadDebugDirectory().Single(e => e.Type == DebugDirectoryEntryType.CodeView);
        var pdbId = new BlobContentId(pdb.DebugMetadataHeader!.Id);
        Assert.Equal(pdbId.Guid, pe.ReadCodeViewDebugDirectoryData(codeView).Guid);
    }

    private static XDocument Nuspec(ZipArchive package, string id)
    {
        using var stream = package.GetEntry($"{id}.nuspec")!.Open();
        return XDocument.Load(stream);
    }

    private static MemoryStream Copy(ZipArchiveEntry entry)
    {
        var copy = new MemoryStream();
        using (var stream = entry.Open())
        {
            stream.CopyTo(copy);
        }

        copy.Position = 0;
        return copy;
    }
}
