using Akka.Etcd.Actors.Raft;
using Google.Protobuf;
using Raftpb;
using Xunit.Abstractions;

namespace Akka.Etcd.Actors.Tests.Simulation;

/// <summary>
/// Seeded random schedules: ticks, message delivery in random order, message loss and duplication, partitions,
/// crashes with restart from storage, proposals, ReadIndex and compaction. Invariants (one leader per term, same
/// committed entry at every index everywhere) are checked on every Ready; at the end the network heals and every
/// member must converge on the same log including a final proposal. Every failure names its seed.
/// </summary>
public sealed class RandomScheduleSimulationTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Seeds() => Enumerable.Range(0, 200).Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Invariants_hold_under_a_random_schedule(int seed)
    {
        try
        {
            output.WriteLine(Run(seed));
        }
        catch (Exception e)
        {
            output.WriteLine($"seed {seed} failed: {e}");
            throw new InvalidOperationException($"simulation failed for seed {seed}: {e.Message}", e);
        }
    }

    private static string Run(int seed)
    {
        var rng = new Random(seed);
        var size = rng.Next(2) == 0 ? 3 : 5;
        var preVote = rng.Next(2) == 0;
        var checkQuorum = rng.Next(2) == 0;
        var net = new RaftNetwork(
            size,
            id => new RaftConfig { Id = id, PreVote = preVote, CheckQuorum = checkQuorum, MaxInflightMsgs = 1 + rng.Next(8), MaxSizePerMsg = (ulong)(16 + rng.Next(512)) },
            seed);
        var ids = net.Nodes.Keys.ToArray();
        var proposed = 0;
        var reads = 0;

        for (var step = 0; step < 600; step++)
        {
            var action = rng.Next(100);
            if (action < 40)
            {
                net.Tick(ids[rng.Next(ids.Length)]);
            }
            else if (action < 77)
            {
                if (net.Queue.Count > 0)
                {
                    var position = rng.Next(net.Queue.Count);
                    var roll = rng.Next(100);
                    if (roll < 5)
                    {
                        net.LoseAt(position);
                    }
                    else
                    {
                        if (roll < 8)
                        {
                            net.Queue.Add(net.Queue[position].Clone()); // duplicated
                        }

                        net.DeliverAt(position);
                    }
                }
            }
            else if (action < 87)
            {
                var node = net[ids[rng.Next(ids.Length)]];
                if (!node.Down)
                {
                    try
                    {
                        node.Node.Propose(ByteString.CopyFromUtf8($"p{proposed++}"));
                    }
                    catch (ProposalDroppedException)
                    {
                        // no leader known: a client would retry
                    }

                    net.Process(node.Id);
                }
            }
            else if (action < 90)
            {
                var node = net[ids[rng.Next(ids.Length)]];
                if (!node.Down)
                {
                    net.ReadIndex(node.Id, ByteString.CopyFromUtf8($"r{reads++}"));
                }
            }
            else if (action < 93)
            {
                net.Heal();
                if (rng.Next(2) == 0)
                {
                    net.Isolate(ids[rng.Next(ids.Length)]);
                }
                else
                {
                    var shuffled = ids.OrderBy(_ => rng.Next()).ToArray();
                    var cut = 1 + rng.Next(ids.Length - 1);
                    net.Partition(shuffled[..cut], shuffled[cut..]);
                }
            }
            else if (action < 95)
            {
                net.Heal();
            }
            else if (action < 97)
            {
                var node = net[ids[rng.Next(ids.Length)]];
                if (node.Down)
                {
                    node.Restart();
                    net.Process(node.Id);
                }
                else if (net.Nodes.Values.Count(n => n.Down) < (ids.Length - 1) / 2)
                {
                    node.Down = true;
                }
            }
            else
            {
                var node = net[ids[rng.Next(ids.Length)]];
                if (!node.Down)
                {
                    node.Compact();
                }
            }
        }

        // Heal everything and let the cluster settle: it must make progress and converge.
        net.Heal();
        foreach (var node in net.Nodes.Values.Where(n => n.Down))
        {
            node.Restart();
        }

        net.RunUntil(() => net.Leader() is { } l && net.Nodes.Values.All(n => n.Node.Status.Lead == l.Id), maxTicks: 2000, what: "a leader known to all");
        net.Leader()!.Node.Propose(ByteString.CopyFromUtf8("final"));
        net.RunUntil(
            () => net.Nodes.Values.All(n => RaftNetwork.Values(n).LastOrDefault() == "final"),
            maxTicks: 2000,
            what: "final proposal applied everywhere");

        var expected = net.Leader()!.Applied;
        foreach (var node in net.Nodes.Values)
        {
            Assert.Equal(expected.Count, node.Applied.Count);
            Assert.True(expected.SequenceEqual(node.Applied), $"member {node.Id} applied a different log");
        }

        // Every read answered points at an index committed when it was answered.
        foreach (var node in net.Nodes.Values)
        {
            Assert.All(node.ReadStates, rs => Assert.True(rs.Index <= net.MaxCommitted));
        }

        return $"seed {seed}: members={size} preVote={preVote} checkQuorum={checkQuorum} committed={net.MaxCommitted} " +
            $"leaders={net.LeaderOfTerm.Count} reads={net.Nodes.Values.Sum(n => n.ReadStates.Count)} " +
            $"snapshots={net.Nodes.Values.Count(n => n.Storage.Snapshot().Metadata.Index > 0)}";
    }
}
