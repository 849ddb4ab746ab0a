using Akka.Etcd.Api.Grpc;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;

namespace Akka.Etcd.Node.Cluster;

/// <summary>
/// Requests a follower cannot serve and hands to the leader. etcd 3.4 forwards Cluster.MemberPromote to the leader
/// over the peer port (<c>POST /members/promote/ID</c>); this member forwards the same gRPC call to the leader's
/// first client URL, so <c>etcdctl member promote</c> works whichever member it reaches. Thread-safe.
/// </summary>
public static class LeaderForwarding
{
    /// <summary>How long one forwarded call may take before it fails with DeadlineExceeded.</summary>
    public static readonly TimeSpan ForwardTimeout = TimeSpan.FromSeconds(5);

    private static readonly HttpClient Http = GrpcClient.CreateHttpClient(TimeSpan.FromSeconds(2));

    /// <summary>
    /// Calls <c>/etcdserverpb.Cluster/MemberPromote</c> on <paramref name="leader"/> and returns its response.
    /// </summary>
    /// <exception cref="EtcdException">The leader's error (e.g. LearnerNotReady), NotLeader when the leader has not
    /// published a client URL, Unavailable/DeadlineExceeded when it cannot be reached within <see cref="ForwardTimeout"/>.</exception>
    public static async Task<MemberPromoteResponse> PromoteAsync(Member leader, MemberPromoteRequest request,
        CancellationToken cancel)
    {
        if (leader.ClientURLs.Count == 0)
        {
            throw EtcdErrors.NotLeader;
        }
        using var client = new GrpcClient(new Uri(leader.ClientURLs[0]), Http);
        return await client.UnaryAsync("/etcdserverpb.Cluster/MemberPromote", request, MemberPromoteResponse.Parser,
            deadline: DateTime.UtcNow + ForwardTimeout, cancellationToken: cancel).ConfigureAwait(false);
    }
}
