using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The Lua scripts (<c>Scripts/*.lua</c>, embedded), each prefixed with <c>common.lua</c>. Run with EVALSHA by their
/// hash, computed once (StackExchange.Redis's overload that takes the text hashes and compares the whole text on
/// every call); when Redis has lost them (a restart) they are sent again.
/// </summary>
internal static class RedisScripts
{
    public static readonly RedisScript Register = new("register");
    public static readonly RedisScript Release = new("release");
    public static readonly RedisScript Forward = new("forward");
    public static readonly RedisScript Heartbeat = new("heartbeat");
    public static readonly RedisScript Sweep = new("sweep");
    public static readonly RedisScript Leave = new("leave");
    public static readonly RedisScript Nodes = new("nodes");

    /// <summary>The scripts run on the node's own command connection (loaded when it opens): the hot path.</summary>
    public static readonly RedisScript[] Hot = [Register, Release, Forward];

    /// <summary>Runs <paramref name="script"/> by its hash; sends the script itself once if Redis does not have it.</summary>
    public static Task<RedisResult> EvaluateAsync(this IDatabaseAsync database, RedisScript script, RedisKey[] keys, RedisValue[] values)
    {
        var task = database.ScriptEvaluateAsync(script.Hash, keys, values);
        return task.IsCompletedSuccessfully ? task : AwaitOrLoadAsync(task, database, script, keys, values);
    }

    private static async Task<RedisResult> AwaitOrLoadAsync(Task<RedisResult> task, IDatabaseAsync database, RedisScript script, RedisKey[] keys, RedisValue[] values)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // The text: StackExchange.Redis loads it on that server and runs it.
            return await database.ScriptEvaluateAsync(script.Text, keys, values).ConfigureAwait(false);
        }
    }
}

/// <summary>One embedded Lua script: its text (common.lua first) and its SHA-1, Redis's name for it.</summary>
internal sealed class RedisScript
{
    public RedisScript(string name)
    {
        Name = name;
        Text = Read("common") + "\n" + Read(name);
#pragma warning disable CA5350 // Redis names scripts by their SHA-1 (EVALSHA); nothing here relies on it for security.
        Hash = SHA1.HashData(Encoding.UTF8.GetBytes(Text));
#pragma warning restore CA5350
        HexHash = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(Hash));
    }

    /// <summary>Gets the script's name (its file without <c>.lua</c>).</summary>
    public string Name { get; }

    public string Text { get; }

    public byte[] Hash { get; }

    /// <summary>Gets the SHA-1 in lower-case hex, as EVALSHA takes it.</summary>
    public byte[] HexHash { get; }

    private static string Read(string name)
    {
        using var stream = typeof(RedisScripts).Assembly.GetManifestResourceStream($"PeerRelay.Redis.{name}.lua")
            ?? throw new InvalidOperationException($"The script {name}.lua is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
