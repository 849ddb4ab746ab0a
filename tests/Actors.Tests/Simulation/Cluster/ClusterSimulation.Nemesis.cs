using Akka.Etcd.Actors.Raft;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>
/// The nemesis: every 50-300 ms of the fault phase it partitions (random halves, one-way cuts, the leader alone),
/// heals, crashes a member (at once, or inside its next save), restarts one, transfers leadership, changes how lossy
/// the network is, or snapshots a member. At most a minority is down or armed to crash at any time.
/// </summary>
internal sealed partial class ClusterSimulation
{
    private void Nemesis()
    {
        if (_faultsOver)
        {
            return;
        }

        var ids = _members.Keys.ToArray();
        var leader = _members.Values.Where(m => m.IsUp && m.Role == RaftState.Leader).MaxBy(m => m.Term);
        var roll = _random.Next(100);
        if (roll < 15)
        {
            var shuffled = ids.OrderBy(_ => _random.Next()).ToArray();
            var cut = 1 + _random.Next(ids.Length - 1);
            _network.Heal();
            _network.Partition([shuffled[..cut], shuffled[cut..]]);
            Trace($"partition {string.Join(',', shuffled[..cut])} | {string.Join(',', shuffled[cut..])}");
        }
        else if (roll < 25)
        {
            var target = ids[_random.Next(ids.Length)];
            var outgoing = _random.Next(2) == 0;
            _network.Heal();
            foreach (var other in ids.Where(o => o != target))
            {
                if (outgoing)
                {
                    _network.CutOneWay(target, other);
                }
                else
                {
                    _network.CutOneWay(other, target);
                }
            }

            Trace($"one-way partition: member {target} {(outgoing ? "cannot send" : "cannot receive")}");
        }
        else if (roll < 35)
        {
            if (leader is not null)
            {
                _network.Heal();
                _network.Partition([[leader.Id], [.. ids.Where(o => o != leader.Id)]]);
                Trace($"isolate leader {leader.Id}");
            }
        }
        else if (roll < 48)
        {
            _network.Heal();
            Trace("heal network");
        }
        else if (roll < 63)
        {
            var candidates = _members.Values.Where(m => m.IsUp && m.ArmedCrash is null).ToList();
            var unavailable = _members.Values.Count(m => !m.IsUp || m.ArmedCrash is not null);
            if (candidates.Count > 0 && unavailable < (ids.Length - 1) / 2)
            {
                var victim = candidates[_random.Next(candidates.Count)];
                switch (_random.Next(3))
                {
                    case 0:
                        Crash(victim, "killed");
                        break;
                    case 1:
                        victim.ArmedCrash = CrashPoint.RaftBeforeSave;
                        Trace($"member {victim.Id}: armed raftBeforeSave");
                        break;
                    default:
                        victim.ArmedCrash = CrashPoint.RaftAfterSave;
                        Trace($"member {victim.Id}: armed raftAfterSave");
                        break;
                }
            }
        }
        else if (roll < 78)
        {
            var down = _members.Values.Where(m => !m.IsUp).ToList();
            if (down.Count > 0)
            {
                Restart(down[_random.Next(down.Count)]);
            }
        }
        else if (roll < 88)
        {
            if (leader is not null)
            {
                var transferee = ids.Where(o => o != leader.Id).ElementAt(_random.Next(ids.Length - 1));
                Trace($"transfer leadership {leader.Id} -> {transferee}");
                leader.Node.TransferLeader(transferee);
                Process(leader);
            }
        }
        else if (roll < 96)
        {
            _network.DropRate = new[] { 0, 0.01, 0.05, 0.2 }[_random.Next(4)];
            _network.DuplicateRate = new[] { 0, 0.02, 0.1 }[_random.Next(3)];
            _network.MaxDelayMs = new[] { 5, 10, 30, 80 }[_random.Next(4)];
            Trace($"network: drop={_network.DropRate} duplicate={_network.DuplicateRate} delay<={_network.MaxDelayMs}ms");
        }
        else
        {
            var up = _members.Values.Where(m => m.IsUp).ToList();
            var member = up[_random.Next(up.Count)];
            member.Snapshot(0);
            Trace($"member {member.Id} snapshots at {member.StateMachine.AppliedIndex} and compacts its log");
        }

        _clock.After(50 + _random.Next(250), Nemesis);
    }
}
