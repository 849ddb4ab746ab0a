namespace Akka.Etcd.Benchmark.Cli;

/// <summary>
/// Flags shared by every command, with etcd benchmark's defaults: <c>--endpoints</c> (comma-separated, default
/// 127.0.0.1:2379), <c>--clients</c> (concurrent workers, 1), <c>--conns</c> (HTTP/2 connections, 1), <c>--total</c>
/// (requests, default per command), <c>--rate</c> (requests/s over all clients, 0 = unlimited), <c>--json</c>,
/// <c>--no-progress</c>, <c>--dial-timeout</c> (seconds).
/// </summary>
internal sealed record GlobalSettings(
    IReadOnlyList<Uri> Endpoints,
    int Clients,
    int Conns,
    bool Json,
    bool Progress,
    TimeSpan DialTimeout)
{
    /// <summary>Flags that take no value.</summary>
    public static readonly ISet<string> BooleanFlags = new HashSet<string>(StringComparer.Ordinal)
    {
        "json", "no-progress", "sequential-keys", "help",
    };

    /// <summary>Reads the shared flags.</summary>
    /// <exception cref="ArgumentException">A malformed endpoint or number.</exception>
    public static GlobalSettings From(CommandLine line)
    {
        var endpoints = line.String("endpoints", "127.0.0.1:2379")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(ParseEndpoint)
            .ToList();
        if (endpoints.Count == 0)
            throw new ArgumentException("flag --endpoints: no endpoint given");
        var clients = line.Int("clients", 1, min: 1);
        var conns = line.Int("conns", 1, min: 1);
        if (conns > clients)
            conns = clients;
        var json = line.Bool("json");
        var progress = !line.Bool("no-progress") && !json && !Console.IsErrorRedirected;
        var dialTimeout = TimeSpan.FromSeconds(line.Double("dial-timeout", 5));
        return new GlobalSettings(endpoints, clients, conns, json, progress, dialTimeout);
    }

    /// <summary>Accepts <c>host:port</c> (as etcd does) or a full <c>http://host:port</c> URL.</summary>
    private static Uri ParseEndpoint(string text)
    {
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ArgumentException($"flag --endpoints: \"{text}\" is not host:port or an http(s) URL");
        return new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
    }
}
