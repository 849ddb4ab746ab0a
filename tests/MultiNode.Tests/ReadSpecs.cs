using Akka.Etcd.Protos.Errors;
using Xunit.Abstractions;

namespace Akka.Etcd.MultiNode.Tests;

/// <summary>
/// Linearizable reads (a ReadIndex round through the leader) and serializable reads (the member's local state) across
/// members over Akka.Remote, as etcd serves them.
/// </summary>
public sealed class ReadSpecs(ITestOutputHelper output) : MultiNodeSpec(output)
{
    [Fact]
    public async Task A_linearizable_read_on_any_of_three_members_sees_the_write_another_member_acknowledged_just_before()
    {
        var cluster = await StartClusterAsync(3);
        await cluster.LeaderAsync();
        var members = cluster.Running;

        for (var round = 0; round < 12; round++)
        {
            var writer = members[round % 3];
            var reader = members[(round + 1 + round / 3) % 3];
            await PutAsync(writer, "lin/k", $"v{round}");

            Assert.Equal($"v{round}", await LinearizableGetAsync(reader, "lin/k"));
        }
    }

    [Fact]
    public async Task A_partitioned_follower_answers_serializable_reads_with_its_stale_value_fails_linearizable_reads_and_serves_the_new_value_after_heal()
    {
        var cluster = await StartClusterAsync(3);
        var leader = await cluster.LeaderAsync();
        await PutAsync(leader, "stale/k", "old");
        await AwaitValueAsync(cluster.Running, "stale/k", "old");
        var follower = cluster.Running.First(m => m != leader);

        await cluster.PartitionAsync(follower);
        // Committed by the leader and the other follower.
        await PutAsync(leader, "stale/k", "new");

        // Serializable: the member's own state, which may lag (etcd documents it so).
        Assert.Equal("old", await GetAsync(follower, "stale/k", serializable: true));
        // Linearizable: without the leader's ReadIndex the member cannot know it is current, so it answers an error
        // (no leader once its election timeout passes), never the stale value.
        var error = await Assert.ThrowsAsync<EtcdException>(() => GetAsync(follower, "stale/k", serializable: false));
        AssertNotThroughConsensus(error);

        await cluster.HealAsync();
        await cluster.LeaderAsync();
        Assert.Equal("new", await LinearizableGetAsync(follower, "stale/k"));
        Assert.Equal("new", await GetAsync(follower, "stale/k", serializable: true));
    }

    [Fact]
    public async Task Concurrent_linearizable_reads_on_all_five_members_never_see_a_value_older_than_the_last_write_acknowledged_before_they_started()
    {
        var cluster = await StartClusterAsync(5);
        var leader = await cluster.LeaderAsync();
        var members = cluster.Running;
        var acknowledged = 0L;
        using var writing = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var i = 1; !writing.IsCancellationRequested; i++)
            {
                try
                {
                    await PutAsync(leader, "lin5/counter", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    Volatile.Write(ref acknowledged, i);
                }
                catch (EtcdException e) when (NotThroughConsensus.Contains(e.Message))
                {
                    // Not acknowledged (a spurious election): the floor stays where it is.
                }
            }
        });
        await AwaitTrueAsync(() => Volatile.Read(ref acknowledged) >= 5, "the writer is writing");

        var reads = members.SelectMany(member => Enumerable.Range(0, 20).Select(async _ =>
        {
            var floor = Volatile.Read(ref acknowledged);
            var value = long.Parse((await LinearizableGetAsync(member, "lin5/counter"))!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(value >= floor, $"{member.Name} read {value} after {floor} was acknowledged");
        }));
        await Task.WhenAll(reads).WaitAsync(Deadline);
        writing.Cancel();
        await writer.WaitAsync(Deadline);
    }
}
