using Raftpb;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>
/// A seeded lossy network between members: every message gets a random delay (so messages reorder), may be dropped or
/// duplicated, and is lost when its directed link is cut at delivery time. Cuts may be one-way (asymmetric partition).
/// </summary>
internal sealed class SimulatedNetwork(VirtualClock clock, Random random)
{
    private readonly HashSet<(ulong From, ulong To)> _cut = [];

    /// <summary>Probability that a message is lost.</summary>
    public double DropRate { get; set; }

    /// <summary>Probability that a message is delivered twice (the copy with its own delay).</summary>
    public double DuplicateRate { get; set; }

    public int MinDelayMs { get; set; } = 1;

    public int MaxDelayMs { get; set; } = 10;

    public long Sent { get; private set; }

    public long Lost { get; private set; }

    /// <summary>Sends <paramref name="message"/>; <paramref name="deliver"/> runs at arrival, with whether it got through.</summary>
    public void Send(Message message, Action<Message, bool> deliver)
    {
        Sent++;
        var copies = random.NextDouble() < DuplicateRate ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            var dropped = random.NextDouble() < DropRate;
            var copy = message.Clone();
            clock.After(random.Next(MinDelayMs, MaxDelayMs + 1), () =>
            {
                var through = !dropped && !_cut.Contains((copy.From, copy.To));
                if (!through)
                {
                    Lost++;
                }

                deliver(copy, through);
            });
        }
    }

    public void CutOneWay(ulong from, ulong to) => _cut.Add((from, to));

    /// <summary>Only members of the same group can talk.</summary>
    public void Partition(IReadOnlyList<ulong[]> groups)
    {
        var all = groups.SelectMany(g => g).ToArray();
        foreach (var a in all)
        {
            foreach (var b in all)
            {
                if (a != b && !groups.Any(g => g.Contains(a) && g.Contains(b)))
                {
                    _cut.Add((a, b));
                }
            }
        }
    }

    public void Heal() => _cut.Clear();

    public string Describe() => _cut.Count == 0 ? "healed" : string.Join(' ', _cut.OrderBy(c => c).Select(c => $"{c.From}->{c.To}"));
}
