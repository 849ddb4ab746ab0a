using System.Diagnostics;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// A cluster of N member processes (etcd 3.4 or akka-etcd, same flags) on loopback: members <c>m1..mN</c> with free
/// client and peer ports, <c>--initial-cluster-token</c> <see cref="Token"/>, <c>--initial-cluster-state new</c>, data
/// dirs in one temp root deleted on dispose. Member IDs and the cluster ID derive from the peer URLs and the token,
/// so an etcd cluster and an akka-etcd cluster started on the same ports must report the same IDs.
/// Not thread-safe: drive it from the test; the etcdctl helpers may run concurrently.
/// </summary>
public sealed class ClusterProcesses : IAsyncDisposable
{
    /// <summary>The <c>--initial-cluster-token</c> of every cluster started here.</summary>
    public const string Token = "akka-etcd-e2e-cluster";

    /// <summary>
    /// Default deadline for a cluster to start, publish its members and agree on a leader, each. Generous: three .NET
    /// processes starting (JIT) at once on the shared 2-core machine were seen to take over 30 s to be healthy at a
    /// load average of 25; a cluster that starts in time is not slowed by it.
    /// </summary>
    public static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly List<ClusterMember> _members = new();
    private readonly IReadOnlyList<string> _extraFlags;
    private readonly ClusterSchemes _schemes;

    private ClusterProcesses(ServerKind kind, string dataRoot, IReadOnlyList<string> extraFlags, ClusterSchemes? schemes)
    {
        Kind = kind;
        DataRoot = dataRoot;
        _extraFlags = extraFlags;
        _schemes = schemes ?? new ClusterSchemes();
    }

    /// <summary>The relay every byte between the members passes when the cluster was started with
    /// <c>relayPeerTraffic</c>; null otherwise. Disposed with the cluster.</summary>
    public PeerTrafficRelay? Relay { get; private set; }

    /// <summary>Which binary every member runs.</summary>
    public ServerKind Kind { get; }

    /// <summary>The temp directory holding every member's data dir; deleted on dispose.</summary>
    public string DataRoot { get; }

    /// <summary>Every member started so far, including joined and removed ones, in start order.</summary>
    public IReadOnlyList<ClusterMember> Members => _members;

    /// <summary>The members whose process currently runs.</summary>
    public IReadOnlyList<ClusterMember> Running => _members.Where(m => m.IsRunning).ToArray();

    /// <summary>
    /// The ports a cluster of <paramref name="size"/> members uses: client and peer port of m1, then m2, ...
    /// </summary>
    public static int[] FreePorts(int size) => LoopbackPorts.Free(2 * size);

    /// <summary>
    /// Starts <paramref name="size"/> members, waits until every one is healthy, every member in
    /// <c>member list</c> has published its name and client URL, and all agree on one leader.
    /// </summary>
    /// <param name="kind">Which binary runs.</param>
    /// <param name="size">Number of voting members.</param>
    /// <param name="extraFlags">Flags given to every member, e.g. <c>--snapshot-count 100</c>.</param>
    /// <param name="ports">2 × size ports (client, peer per member) from <see cref="FreePorts"/>; fresh ones when null.</param>
    /// <param name="schemes">Client and peer URL schemes, per-member flags and etcdctl's TLS flags; plain http when null.</param>
    /// <param name="relayPeerTraffic">When true, every member listens for peer traffic on another free port and a
    /// <see cref="PeerTrafficRelay"/> (<see cref="Relay"/>) listens on its advertised peer port and forwards to it, so every
    /// byte between members passes the relay, which can cut a member off (<see cref="PeerTrafficRelay.Cut"/>).</param>
    /// <exception cref="InvalidOperationException">A member exited or the cluster was not ready within
    /// <see cref="StartDeadline"/>; the message carries the logs.</exception>
    public static async Task<ClusterProcesses> StartAsync(ServerKind kind, int size = 3,
        IReadOnlyList<string>? extraFlags = null, int[]? ports = null, ClusterSchemes? schemes = null,
        bool relayPeerTraffic = false)
    {
        ports ??= FreePorts(size);
        if (ports.Length != 2 * size) throw new ArgumentException($"need {2 * size} ports, got {ports.Length}", nameof(ports));
        var root = Directory.CreateTempSubdirectory($"akka-etcd-cluster-{kind.ToString().ToLowerInvariant()}-").FullName;
        var cluster = new ClusterProcesses(kind, root, extraFlags ?? [], schemes);
        var initialCluster = string.Join(',',
            Enumerable.Range(0, size).Select(i => $"m{i + 1}={cluster._schemes.Peer}://127.0.0.1:{ports[2 * i + 1]}"));
        try
        {
            var listenPorts = relayPeerTraffic ? LoopbackPorts.Free(size) : null;
            if (listenPorts is not null)
            {
                cluster.Relay = new PeerTrafficRelay();
                for (var i = 0; i < size; i++) cluster.Relay.Route(ports[2 * i + 1], listenPorts[i]);
            }
            for (var i = 0; i < size; i++)
            {
                var member = cluster.Describe($"m{i + 1}", ports[2 * i], ports[2 * i + 1], initialCluster, "new",
                    listenPeerPort: listenPorts?[i]);
                cluster._members.Add(member);
                member.Start();
            }
            await Task.WhenAll(cluster._members.Select(m => m.WaitHealthyAsync(StartDeadline)));
            await cluster.WaitUntilPublishedAsync(size, StartDeadline);
            await cluster.WaitForLeaderAsync(StartDeadline);
            return cluster;
        }
        catch (Exception e)
        {
            var logs = cluster.LogTails();
            await cluster.DisposeAsync();
            throw new InvalidOperationException($"{kind} cluster of {size} did not start: {e.Message}\n{logs}", e);
        }
    }

    /// <summary>
    /// Describes (does not start) a new member <paramref name="name"/> on fresh ports that joins this cluster with
    /// <c>--initial-cluster-state existing</c> and the given <c>--initial-cluster</c> (as <c>member add</c> printed it).
    /// The member is tracked and killed on dispose. <paramref name="memberFlags"/> replaces the per-member flags of
    /// the cluster's <see cref="ClusterSchemes.MemberFlags"/> (e.g. a certificate of another CA).
    /// </summary>
    public ClusterMember DescribeJoiner(string name, string initialCluster, int clientPort, int peerPort,
        IReadOnlyList<string>? memberFlags = null)
    {
        var member = Describe(name, clientPort, peerPort, initialCluster, "existing", memberFlags);
        _members.Add(member);
        return member;
    }

    /// <summary>The member named <paramref name="name"/>.</summary>
    public ClusterMember this[string name] => _members.Single(m => m.Name == name);

    /// <summary>The member whose client URL is <paramref name="clientUrl"/>.</summary>
    public ClusterMember ByClientUrl(string clientUrl) => _members.Single(m => m.ClientUrl == clientUrl);

    /// <summary>An etcdctl runner whose <c>--endpoints</c> lists every running member's client URL.</summary>
    public Etcdctl Etcdctl(params string[] globalFlags) =>
        new(string.Join(',', Running.Select(m => m.ClientUrl)), [.. _schemes.EtcdctlFlags, .. globalFlags]);

    /// <summary>
    /// Runs <c>etcdctl endpoint status -w json</c> against each of <paramref name="members"/> (default: the running
    /// ones) and returns the rows of those that answered.
    /// </summary>
    public async Task<IReadOnlyList<EndpointStatusRow>> StatusAsync(IEnumerable<ClusterMember>? members = null)
    {
        var endpoints = string.Join(',', (members ?? Running).Select(m => m.ClientUrl));
        var result = await new Etcdctl(endpoints, [.. _schemes.EtcdctlFlags, "--dial-timeout=1s", "--command-timeout=1s"])
            .RunAsync(["endpoint", "status", "-w", "json"], stdin: null, timeout: TimeSpan.FromSeconds(10));
        var json = result.Stdout.Trim();
        return json.StartsWith('[') ? EndpointStatusRow.ParseAll(json) : [];
    }

    /// <summary>
    /// Polls <see cref="StatusAsync"/> on the running members until every one answers and all report the same leader,
    /// which is one of them and satisfies <paramref name="accept"/> (any when null).
    /// </summary>
    /// <returns>The leader, its member ID, and how long the wait took (an upper bound: the end of the poll that saw it).</returns>
    /// <exception cref="TimeoutException">No such agreement within <paramref name="deadline"/>; the message has the
    /// last statuses and the log tails.</exception>
    public async Task<(ClusterMember Leader, ulong LeaderId, TimeSpan Waited)> WaitForLeaderAsync(TimeSpan deadline,
        Func<ulong, bool>? accept = null)
    {
        var clock = Stopwatch.StartNew();
        using var poll = new PeriodicTimer(PollInterval);
        IReadOnlyList<EndpointStatusRow> last = [];
        while (true)
        {
            var running = Running;
            last = await StatusAsync(running);
            if (last.Count == running.Count && last.Count > 0)
            {
                var leader = last[0].Leader;
                if (leader != 0 && (accept?.Invoke(leader) ?? true) && last.All(r => r.Leader == leader))
                {
                    var row = last.FirstOrDefault(r => r.MemberId == leader);
                    if (row is not null) return (ByClientUrl(row.Endpoint), leader, clock.Elapsed);
                }
            }
            if (clock.Elapsed >= deadline)
                throw new TimeoutException(
                    $"no agreed, accepted leader within {deadline}; last status:\n" +
                    string.Join('\n', last) + "\n" + LogTails());
            await poll.WaitForNextTickAsync();
        }
    }

    /// <summary>
    /// Polls <c>member list -w json</c> until it has <paramref name="count"/> members, each with a name and a client
    /// URL (etcd's "started"), and returns that listing.
    /// </summary>
    /// <exception cref="TimeoutException">Not so within <paramref name="deadline"/>.</exception>
    /// <param name="count">Expected number of members.</param>
    /// <param name="deadline">How long to poll.</param>
    /// <param name="via">Whose client URLs etcdctl talks to (default: every running member); leave learners out,
    /// etcd 3.4 learners refuse the request.</param>
    public async Task<MemberListing> WaitUntilPublishedAsync(int count, TimeSpan deadline,
        IEnumerable<ClusterMember>? via = null)
    {
        var clock = Stopwatch.StartNew();
        using var poll = new PeriodicTimer(PollInterval);
        var ctl = new Etcdctl(string.Join(',', (via ?? Running).Select(m => m.ClientUrl)),
            [.. _schemes.EtcdctlFlags, "--dial-timeout=1s", "--command-timeout=2s"]);
        var last = "";
        while (true)
        {
            var result = await ctl.RunAsync(["member", "list", "-w", "json"], stdin: null, timeout: TimeSpan.FromSeconds(10));
            last = result.Stdout + result.Stderr;
            if (result.Succeeded)
            {
                var listing = MemberListing.Parse(result.Stdout);
                if (listing.Members.Count == count && listing.Members.All(m => m.Name.Length > 0 && m.ClientUrls.Count > 0))
                    return listing;
            }
            if (clock.Elapsed >= deadline)
                throw new TimeoutException($"member list did not show {count} started members within {deadline}; last:\n{last}");
            await poll.WaitForNextTickAsync();
        }
    }

    /// <summary>Every member's log tail, headed by its name (and the relay's, if any), for failure messages.</summary>
    public string LogTails(int lines = 30) =>
        string.Join('\n', _members.Select(m => $"--- {m.Kind} {m.Name} log (tail) ---\n{m.LogTail(lines)}")) +
        (Relay is null ? "" : $"\n--- peer traffic relay log (tail) ---\n{Relay.LogTail(lines)}");

    /// <summary>Kills every member and deletes <see cref="DataRoot"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members) await member.DisposeAsync();
        if (Relay is not null) await Relay.DisposeAsync();
        try
        {
            Directory.Delete(DataRoot, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }

    private ClusterMember Describe(string name, int clientPort, int peerPort, string initialCluster, string state,
        IReadOnlyList<string>? memberFlags = null, int? listenPeerPort = null) =>
        new(Kind, name, clientPort, peerPort, DataRoot,
        [
            "--initial-cluster", initialCluster,
            "--initial-cluster-token", Token,
            "--initial-cluster-state", state,
            .. _extraFlags,
            .. memberFlags ?? _schemes.MemberFlags?.Invoke(name) ?? [],
        ], _schemes.Client, _schemes.Peer, _schemes.EtcdctlFlags, listenPeerPort);
}

/// <summary>
/// How a cluster's members are reached: client and peer URL schemes (<c>http</c> or <c>https</c>), flags that differ
/// per member (its own certificate), and the global etcdctl flags that reach https client URLs (<c>--cacert</c>).
/// </summary>
/// <param name="Client">Scheme of the client URLs.</param>
/// <param name="Peer">Scheme of the peer URLs.</param>
/// <param name="MemberFlags">Flags for the member of that name, after the cluster-wide ones; none when null.</param>
/// <param name="EtcdctlFlagList">Global etcdctl flags of every runner the cluster makes; none when null.</param>
public sealed record ClusterSchemes(string Client = "http", string Peer = "http",
    Func<string, IReadOnlyList<string>>? MemberFlags = null, IReadOnlyList<string>? EtcdctlFlagList = null)
{
    /// <summary>The global etcdctl flags (empty when none were given).</summary>
    public IReadOnlyList<string> EtcdctlFlags => EtcdctlFlagList ?? [];
}
