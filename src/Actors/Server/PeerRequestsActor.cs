using Akka.Actor;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// Serves what the other members ask this one over the peer transport (<see cref="IPeerRequests"/>; etcd's peer HTTP
/// handlers: leasehttp, <c>/members</c>, <c>/members/hashkv</c>, and the leader's side of a forwarded MemberPromote).
/// A child of the MemberActor (<c>peer-requests</c>); the transport tells it <see cref="Serve"/> (through an ask with
/// the request timeout) and the answer goes back to the asker: a message of a type in <see cref="PeerRequestTypes"/>, or
/// <c>Status.Failure</c> with an <see cref="EtcdException"/> the asker receives with its code and text (or a
/// <see cref="TimeoutException"/> when the applied index did not catch up in time; the asking follower retries).
/// To serve a new peer request type, add it to <see cref="PeerRequestTypes"/> and a case here.
/// </summary>
/// <remarks>
/// The member list is answered from the applied membership and a HashKV is handed to the store, which answers the
/// asker itself. A forwarded lease keep-alive or time-to-live first waits for this member's applied index to reach its
/// commit index, then asks the lessor (<see cref="LeaseForwarding.ServeForwardedAsync"/>), and a forwarded MemberPromote
/// reads the Raft progress and proposes the ConfChange (<see cref="MemberChanges.MemberPromoteAsync"/>): those run as
/// tasks whose results are piped to the asker, so the actor never blocks and serves requests concurrently.
/// </remarks>
public sealed class PeerRequestsActor : ReceiveActor
{
    /// <summary>Serve a request another member sent over the peer transport.</summary>
    /// <param name="From">The asking member's ID (0: a joining member that does not know its ID yet).</param>
    /// <param name="Request">The request, of a type in <see cref="PeerRequestTypes"/>.</param>
    public sealed record Serve(ulong From, IMessage Request);

    private readonly MemberGateway _member;
    private readonly LeaseForwarding _leases;
    private readonly MemberChanges _changes;
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Props of the actor serving the peer requests of <paramref name="member"/>.</summary>
    public static Props Props(MemberGateway member) => Akka.Actor.Props.Create(() => new PeerRequestsActor(member));

    /// <summary>Creates the actor; use <see cref="Props(MemberGateway)"/>.</summary>
    public PeerRequestsActor(MemberGateway member)
    {
        _member = member;
        _leases = new LeaseForwarding(member);
        _changes = new MemberChanges(member);
        Receive<Serve>(OnServe);
    }

    /// <inheritdoc />
    protected override void PostStop() =>
        // Not disposed: requests still running may read the token; a source without a timer holds nothing to free.
        _stopping.Cancel();

    private void OnServe(Serve serve)
    {
        var asker = Sender;
        switch (serve.Request)
        {
            case LeaseKeepAliveRequest or LeaseTimeToLiveRequest:
                _leases.ServeForwardedAsync(serve.Request, _stopping.Token).PipeTo(asker);
                break;
            case MemberPromoteRequest promote:
                // Only the leader knows the learner's progress: a follower answers NotLeader and the asker tries the right one.
                if (!_member.Status.IsLeader)
                {
                    asker.Tell(new Status.Failure(EtcdErrors.NotLeader));
                    break;
                }
                _changes.MemberPromoteAsync(promote, _stopping.Token).PipeTo(asker, success: response => (IMessage)response);
                break;
            case MemberListRequest:
                asker.Tell(_member.MemberList());
                break;
            case HashKVRequest hashKV:
                // etcd's hashKVHandler: KV().HashByRev, local and without a read index; the store answers the asker.
                _member.Actors.Store.Tell(
                    new StoreProtocol.RunQuery(0, new StoreProtocol.HashKV(new HashKVRequest { Revision = hashKV.Revision })), asker);
                break;
            default:
                asker.Tell(new Status.Failure(new EtcdException(RpcStatusCode.Unimplemented, $"unknown peer request {serve.Request.Descriptor.FullName}")));
                break;
        }
    }
}
