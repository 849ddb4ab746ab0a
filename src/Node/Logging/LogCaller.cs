namespace Akka.Etcd.Node.Logging;

/// <summary>
/// Derives the zap <c>"caller"</c> value from a logger category, once per logger (no stack walks):
/// the last namespace segment lower-cased, a slash, and the type name, e.g.
/// <c>Akka.Etcd.Actors.Raft.RaftActor</c> => <c>raft/RaftActor</c>; generic arity and nested-type
/// markers are dropped; a category without dots is used as is. Thread-safe.
/// </summary>
public static class LogCaller
{
    /// <summary>The short caller name for <paramref name="category"/>.</summary>
    public static string FromCategory(string category)
    {
        var name = category.Split('`')[0].Replace('+', '.');
        var parts = name.Split('.', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length switch
        {
            0 => category,
            1 => parts[0],
            _ => parts[^2].ToLowerInvariant() + "/" + parts[^1],
        };
    }
}
