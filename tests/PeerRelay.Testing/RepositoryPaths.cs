namespace PeerRelay.Testing;

/// <summary>Paths in the repository the tests run from (the directory holding <c>PeerRelay.slnx</c>).</summary>
public static class RepositoryPaths
{
    /// <summary>Gets the repository's root directory, found upwards from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Gets the full path of <paramref name="relativePath"/> under the repository root.</summary>
    /// <param name="relativePath">A path relative to the root, with '/' separators.</param>
    /// <returns>The full path.</returns>
    public static string Combine(string relativePath) => Path.Combine(Root, relativePath);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PeerRelay.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No PeerRelay.slnx above {AppContext.BaseDirectory}.");
    }
}
