using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace PeerRelay.Configuration;

/// <summary>
/// Tomlyn's source-generated metadata for the one type the configuration is read into (<see cref="TomlTable"/>), so
/// reading the file needs no reflection: the trimmed single-file and Native AOT builds read it as the JIT build does.
/// </summary>
[TomlSerializable(typeof(TomlTable))]
internal sealed partial class RelayTomlContext : TomlSerializerContext
{
    /// <summary>Initializes a context whose messages name the file (<see cref="TomlSerializerOptions.SourceName"/>).</summary>
    /// <param name="options">The options.</param>
    public RelayTomlContext(TomlSerializerOptions options)
        : base(options)
    {
    }
}
