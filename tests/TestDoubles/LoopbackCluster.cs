using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Transport;
using Akka.Remote;
using Akka.Remote.Transport;
using Etcdserverpb;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.TestDoubles;

/// <summary>Settings of a <see cref="LoopbackCluster"/>; every member gets the same.</summary>
public sealed record LoopbackClusterOptions
{
    /// <summary>
    /// Heartbeat interval in ms (default 100, etcd's). With the default election timeout, elections happen only when a
    /// leader is really gone, also on a loaded 2-core machine shared with other test runs: every member of the cluster
    /// lives in one process, so a stall of the process (CPU starvation, a GC pause) delays every member's heartbeats at
    /// once; at 50/500 ms such stalls started elections on a machine with a load average of 25 (one cause, a burst of
    /// Raft ticks after a stall, is fixed in the RaftActor; the margin stays).
    /// </summary>
    public int HeartbeatIntervalMs { get; init; } = 100;

    /// <summary>Election timeout in ms (default 1000, etcd's).</summary>
    public int ElectionTimeoutMs { get; init; } = 1000;

    /// <summary>
    /// True (the default) to run every member's remoting through Akka's throttler adapter, which
    /// <see cref="LoopbackCluster.PartitionAsync"/> needs; false runs plain <c>akka.tcp</c> as the node does.
    /// </summary>
    public bool Throttler { get; init; } = true;

    /// <summary>Applied last to each member's <see cref="ServerOptions"/> (snapshot count, strict reconfig check, ...).</summary>
    public Func<ServerOptions, ServerOptions> Configure { get; init; } = options => options;

    /// <summary>How long start-up and the cluster's waits may take before they throw <see cref="TimeoutException"/> (default 30 s).</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The members' Akka log level, printed to stdout: <c>LOOPBACK_AKKA_LOGLEVEL</c> from the environment (e.g. INFO
    /// to see elections and snapshots while debugging a spec), else ERROR (remoting's warnings about peers that are not
    /// listening yet or have stopped are expected here).
    /// </summary>
    public string AkkaLogLevel { get; init; } = Environment.GetEnvironmentVariable("LOOPBACK_AKKA_LOGLEVEL") ?? "ERROR";

    /// <summary>The loggers members log through (default: none).</summary>
    public ILoggerFactory Loggers { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>
/// One member of a <see cref="LoopbackCluster"/>: its name, loopback peer URL and data dir, which stay the same across
/// restarts, and, while it runs, its ActorSystem and <see cref="LocalMember"/>.
/// </summary>
public sealed class LoopbackMember
{
    internal LoopbackMember(string name, int port, string dataDir)
    {
        Name = name;
        Port = port;
        DataDir = dataDir;
    }

    /// <summary>The member's name (<c>--name</c>).</summary>
    public string Name { get; }

    /// <summary>The loopback port its remoting binds (its peer URL's port).</summary>
    public int Port { get; }

    /// <summary>Its peer URL, <c>http://127.0.0.1:PORT</c>.</summary>
    public string PeerUrl => $"http://127.0.0.1:{Port}";

    /// <summary>Its data dir (<c>--data-dir</c>), kept when it stops so a restart recovers from it.</summary>
    public string DataDir { get; }

    /// <summary>The options of its current (or last) run; null before it first started.</summary>
    public ServerOptions? Options { get; internal set; }

    /// <summary>Its ActorSystem while it runs; null before it first started.</summary>
    public ActorSystem? System { get; internal set; }

    /// <summary>The running member's <see cref="LocalMember"/>.</summary>
    /// <exception cref="InvalidOperationException">The member is not running.</exception>
    public LocalMember Server => IsRunning && LastServer is not null ? LastServer : throw new InvalidOperationException($"member {Name} is not running");

    /// <summary>The member of its current or last run (stopped after a stop); null before it first started.</summary>
    public LocalMember? LastServer { get; internal set; }

    /// <summary>True from a successful start until it is stopped.</summary>
    public bool IsRunning { get; internal set; }

    /// <summary>Its member ID (known once it has started).</summary>
    public ulong Id => (LastServer ?? throw new InvalidOperationException($"member {Name} has not started")).Status.MemberId;

    /// <summary>Its Akka address as remoting advertises it (protocol <c>akka.trttl.tcp</c> with the throttler).</summary>
    public Address Address => RemoteProvider(System ?? throw new InvalidOperationException($"member {Name} has not started")).DefaultAddress;

    /// <summary>The remoting provider of <paramref name="system"/> (the cluster provider derives from it).</summary>
    internal static IRemoteActorRefProvider RemoteProvider(ActorSystem system) => (IRemoteActorRefProvider)((ExtendedActorSystem)system).Provider;

    /// <inheritdoc />
    public override string ToString() => LastServer is null ? Name : $"{Name} ({LastServer.Status.MemberId:x16})";
}

/// <summary>
/// Whole members in one process, wired as the akka-etcd host wires them (src/Node's MemberService): an ActorSystem
/// each with the cluster provider and remoting on a loopback port (the member's peer URL), a <see cref="PeerActor"/> at
/// <c>/user/peer</c>, and an <see cref="LocalMember"/> over a <see cref="RemoteRaftTransport"/>. Members can be stopped
/// (hard, or etcd's graceful stop), restarted on the same data dir and port, added as etcd adds them (MemberAdd, then a
/// start with <c>--initial-cluster-state existing</c>), and cut apart at the Akka.Remote level with Akka's throttler
/// (blackholed in both directions, as Akka's multi-node TestConductor does). Every wait has a deadline and throws
/// <see cref="TimeoutException"/> describing what each member saw. Not thread-safe: drive it from one test.
/// </summary>
public sealed class LoopbackCluster : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "akka-etcd-loopback-" + Guid.NewGuid().ToString("N"));
    private readonly List<LoopbackMember> _members = [];
    private readonly HashSet<(LoopbackMember, LoopbackMember)> _blackholed = [];

    private LoopbackCluster(LoopbackClusterOptions options) => Settings = options;

    /// <summary>The settings every member runs with.</summary>
    public LoopbackClusterOptions Settings { get; }

    /// <summary>Every member ever started or reserved here, in order, running or not.</summary>
    public IReadOnlyList<LoopbackMember> Members => _members;

    /// <summary>The members running now.</summary>
    public IReadOnlyList<LoopbackMember> Running => _members.Where(m => m.IsRunning).ToList();

    /// <summary>The member named <paramref name="name"/>.</summary>
    public LoopbackMember this[string name] => _members.Single(m => m.Name == name);

    /// <summary>
    /// Bootstraps a new cluster of <paramref name="size"/> members named <c>m1..mN</c> (<c>--initial-cluster-state new</c>)
    /// and waits until each is ready (a leader is known and its attributes are published), within the deadline.
    /// </summary>
    /// <exception cref="TimeoutException">Not every member was ready in time (everything started is stopped).</exception>
    public static async Task<LoopbackCluster> StartAsync(int size, LoopbackClusterOptions? options = null)
    {
        var cluster = new LoopbackCluster(options ?? new LoopbackClusterOptions());
        try
        {
            var ports = RemotingTestConfig.FreePorts(size);
            var members = Enumerable.Range(1, size).Select(i => cluster.Add($"m{i}", ports[i - 1])).ToList();
            var initial = members.ToDictionary(m => m.Name, m => (IReadOnlyList<string>)[m.PeerUrl]);
            // All are opened before any waits: no election can end until a quorum of peers is listening.
            foreach (var member in members)
            {
                await cluster.OpenAsync(member, cluster.NewOptions(member) with { InitialCluster = initial });
            }
            await cluster.WithDeadline(Task.WhenAll(members.Select(m => m.Server.WaitUntilReadyAsync())), "every member to be ready");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A member that is not started yet, with a free loopback port and its own data dir: pass its
    /// <see cref="LoopbackMember.PeerUrl"/> to MemberAdd, then start it with <see cref="JoinAsync"/>.
    /// </summary>
    public LoopbackMember Reserve(string name)
    {
        if (_members.Any(m => m.Name == name))
        {
            throw new ArgumentException($"a member named {name} exists", nameof(name));
        }
        return Add(name, RemotingTestConfig.FreePorts(1)[0]);
    }

    /// <summary>
    /// Starts <paramref name="member"/> (from <see cref="Reserve"/>) as etcd starts a member added with MemberAdd:
    /// <c>--initial-cluster-state existing</c> with an empty data dir, its ID and the cluster ID as the running members
    /// listed them in <paramref name="added"/> (what the node learns from its peers), and waits until it is ready.
    /// </summary>
    /// <exception cref="TimeoutException">It did not become ready in time.</exception>
    public async Task JoinAsync(LoopbackMember member, MemberAddResponse added)
    {
        var self = added.Members.Single(m => m.PeerURLs.Contains(member.PeerUrl));
        var initial = added.Members.ToDictionary(
            m => m.ID == self.ID ? member.Name : (m.Name.Length > 0 ? m.Name : m.ID.ToString("x16")),
            m => (IReadOnlyList<string>)m.PeerURLs.ToList());
        var options = NewOptions(member) with
        {
            InitialCluster = initial,
            InitialClusterState = "existing",
            JoinExisting = true,
            JoinIdentity = (self.ID, added.Header.ClusterId),
            JoinPeers = added.Members.Select(m => (m.ID, (IReadOnlyList<string>)m.PeerURLs.ToList())).ToList(),
        };
        await OpenAsync(member, options);
        await WithDeadline(member.Server.WaitUntilReadyAsync(), $"{member.Name} to join and be ready");
    }

    /// <summary>
    /// Stops <paramref name="member"/>. Hard (the default) is etcd's HardStop, as when the process is killed between
    /// writes: no leadership transfer, every acknowledged write is already durable. Graceful is etcd's Stop (a leader
    /// first hands leadership to the longest-connected voter). Then its ActorSystem terminates, closing its port; the data
    /// dir is kept for <see cref="RestartAsync"/>.
    /// </summary>
    public async Task StopAsync(LoopbackMember member, bool graceful = false)
    {
        if (!member.IsRunning)
        {
            return;
        }
        member.IsRunning = false;
        _blackholed.RemoveWhere(pair => pair.Item1 == member || pair.Item2 == member);
        var server = member.LastServer!;
        await WithDeadline(graceful ? server.StopAsync() : server.DisposeAsync().AsTask(), $"{member.Name} to stop");
        await WithDeadline(member.System!.Terminate(), $"{member.Name}'s ActorSystem to terminate");
    }

    /// <summary>
    /// Starts a stopped member again on the same data dir and port with the same options (it recovers from its log and
    /// backend) and, unless <paramref name="waitUntilReady"/> is false, waits until it is ready (false suits a member
    /// that is expected to learn it was removed and stop). Partitions set before it stopped are not restored.
    /// </summary>
    /// <exception cref="TimeoutException">It did not become ready in time.</exception>
    public async Task RestartAsync(LoopbackMember member, bool waitUntilReady = true)
    {
        if (member.IsRunning || member.Options is null)
        {
            throw new InvalidOperationException($"member {member.Name} is running or never started");
        }
        await OpenAsync(member, member.Options);
        if (waitUntilReady)
        {
            await WithDeadline(member.Server.WaitUntilReadyAsync(), $"{member.Name} to restart and be ready");
        }
    }

    /// <summary>
    /// Cuts <paramref name="side"/> off from every other running member: the Akka.Remote traffic between each member
    /// of <paramref name="side"/> and each member outside it is blackholed in both directions, on both ends (Akka's
    /// throttler, as the TestConductor's blackhole does). Members of the same side still talk. Needs
    /// <see cref="LoopbackClusterOptions.Throttler"/>.
    /// </summary>
    public async Task PartitionAsync(params LoopbackMember[] side)
    {
        foreach (var inside in side)
        {
            foreach (var outside in Running.Where(m => !side.Contains(m)))
            {
                await ThrottleAsync(inside, outside, Blackhole.Instance);
                await ThrottleAsync(outside, inside, Blackhole.Instance);
                _blackholed.Add((inside, outside));
            }
        }
    }

    /// <summary>Lets every blackholed pair of running members talk again (the throttler's <c>Unthrottled</c> mode).</summary>
    public async Task HealAsync()
    {
        foreach (var (a, b) in _blackholed.ToList())
        {
            if (a.IsRunning && b.IsRunning)
            {
                await ThrottleAsync(a, b, Unthrottled.Instance);
                await ThrottleAsync(b, a, Unthrottled.Instance);
            }
        }
        _blackholed.Clear();
    }

    /// <summary>
    /// Waits until every member of <paramref name="among"/> (default: every running member) names the same leader, and
    /// that leader is one of them and believes it leads: a member deposed in an old term that still thinks it leads, or
    /// a follower that has not heard of the new leader yet, keeps the wait going. Returns the leader.
    /// </summary>
    /// <exception cref="TimeoutException">No agreement within <paramref name="deadline"/> (default: the cluster's).</exception>
    public async Task<LoopbackMember> LeaderAsync(IEnumerable<LoopbackMember>? among = null, TimeSpan? deadline = null)
    {
        var members = (among ?? Running).ToList();
        LoopbackMember? leader = null;
        await WaitUntilAsync(() =>
        {
            leader = members.FirstOrDefault(m => m.IsRunning && m.Server.Status.IsLeader
                && members.All(other => other.IsRunning && other.Server.Status.Leader == m.Id));
            return leader is not null;
        }, () => "the members to agree on a leader: " + Describe(members), deadline);
        return leader!;
    }

    /// <summary>
    /// Polls <paramref name="condition"/> every 10 ms until it holds or <paramref name="deadline"/> (default: the
    /// cluster's) passes; then throws <see cref="TimeoutException"/> with <paramref name="what"/>'s text.
    /// </summary>
    public async Task WaitUntilAsync(Func<bool> condition, Func<string> what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? Settings.Deadline;
        var clock = Stopwatch.StartNew();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"waited {limit.TotalSeconds:0.#} s for {what()}");
            }
            await poll.WaitForNextTickAsync();
        }
    }

    /// <summary>Each member's view (running, term, leader, commit and applied index, revision), for failure messages.</summary>
    public static string Describe(IEnumerable<LoopbackMember> members) => string.Join("; ", members.Select(m =>
        m.IsRunning && m.LastServer is { } s
            ? $"{m.Name} id {s.Status.MemberId:x} term {s.Status.Term} leader {s.Status.Leader:x} commit {s.Status.CommitIndex} applied {s.Status.AppliedIndex} rev {s.Status.Revision}"
            : $"{m.Name} stopped"));

    /// <summary>Stops every running member (hard) and deletes the data dirs.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members.Where(m => m.IsRunning).ToList())
        {
            try
            {
                await StopAsync(member);
            }
            catch (TimeoutException)
            {
                // Go on with the others; the process ends with the test run.
            }
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
    }

    private LoopbackMember Add(string name, int port)
    {
        var member = new LoopbackMember(name, port, Path.Combine(_root, name));
        _members.Add(member);
        return member;
    }

    private ServerOptions NewOptions(LoopbackMember member) => Settings.Configure(new ServerOptions
    {
        Name = member.Name,
        DataDir = member.DataDir,
        InitialClusterToken = "loopback",
        AdvertisePeerUrls = [member.PeerUrl],
        AdvertiseClientUrls = [$"http://127.0.0.1:{RemotingTestConfig.FreePorts(1)[0]}"],
        HeartbeatIntervalMs = Settings.HeartbeatIntervalMs,
        ElectionTimeoutMs = Settings.ElectionTimeoutMs,
    });

    /// <summary>Starts the member's ActorSystem, peer actor and LocalMember as the node's MemberService does, without waiting for a leader.</summary>
    private async Task OpenAsync(LoopbackMember member, ServerOptions options)
    {
        var config = ConfigurationFactory.ParseString($"akka.loglevel = {Settings.AkkaLogLevel}\nakka.stdout-loglevel = {Settings.AkkaLogLevel}")
            .WithFallback(RemotingTestConfig.ForPort(member.Port, cluster: true, throttler: Settings.Throttler));
        var system = ActorSystem.Create(PeerAddress.SystemName, config);
        try
        {
            var peer = system.ActorOf(PeerActor.Props(new RaftTransportOptions { SnapshotDirectory = Path.Combine(options.SnapDir, "incoming") }),
                PeerAddress.PeerActorName);
            var server = await WithDeadline(LocalMember.OpenAsync(system, options, Settings.Loggers,
                (memberId, clusterId) => new RemoteRaftTransport(peer, memberId, clusterId)), $"{member.Name} to open its data dir");
            member.Options = options;
            member.System = system;
            member.LastServer = server;
            member.IsRunning = true;
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }

    private static async Task ThrottleAsync(LoopbackMember from, LoopbackMember to, ThrottleMode mode)
    {
        var command = new SetThrottle(to.Address, ThrottleTransportAdapter.Direction.Both, mode);
        if (!await LoopbackMember.RemoteProvider(from.System!).Transport.ManagementCommand(command))
        {
            throw new InvalidOperationException(
                $"{from.Name}'s remoting refused to throttle {to.Address}: is the throttler adapter applied (LoopbackClusterOptions.Throttler)?");
        }
    }

    private async Task WithDeadline(Task task, string what)
    {
        try
        {
            await task.WaitAsync(Settings.Deadline);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"waited {Settings.Deadline.TotalSeconds:0.#} s for {what}: {Describe(_members)}");
        }
    }

    private async Task<T> WithDeadline<T>(Task<T> task, string what)
    {
        await WithDeadline((Task)task, what);
        return await task;
    }
}
