namespace PeerRelay.Testing;

/// <summary>A fresh directory under the system temp directory, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Initializes a new instance of the <see cref="TempDirectory"/> class and creates the directory.</summary>
    public TempDirectory() => Directory.CreateDirectory(Path);

    /// <summary>Gets the directory's full path.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "peerrelay-tests", Guid.NewGuid().ToString("N"));

    /// <summary>Gets the path of <paramref name="name"/> inside the directory.</summary>
    /// <param name="name">A file or directory name.</param>
    /// <returns>The full path.</returns>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="text"/> to <paramref name="name"/> inside the directory.</summary>
    /// <param name="name">The file name.</param>
    /// <param name="text">The contents.</param>
    /// <returns>The file's full path.</returns>
    public string WriteFile(string name, string text)
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process may still hold a log file; the temp directory is cleaned by the system.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
