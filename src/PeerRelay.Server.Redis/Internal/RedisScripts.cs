using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The Lua scripts (<c>Scripts/*.lua</c>, embedded), each prefixed with <c>common.lua</c>. Run with EVALSHA; the
/// client sends the script itself again when Redis has lost it (a restart).
/// </summary>
internal static class RedisScripts
{
    public static readonly string Register = Load("register");
    public static readonly string Release = Load("release");
    public static readonly string Forward = Load("forward");
    public static readonly string Heartbeat = Load("heartbeat");
    public static readonly string Sweep = Load("sweep");
    public static readonly string Leave = Load("leave");
    public static readonly string Nodes = Load("nodes");

    private static string Load(string name) => Read("common") + "\n" + Read(name);

    private static string Read(string name)
    {
        using var stream = typeof(RedisScripts).Assembly.GetManifestResourceStream($"PeerRelay.Redis.{name}.lua")
            ?? throw new InvalidOperationException($"The script {name}.lua is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
