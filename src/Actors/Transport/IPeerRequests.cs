using Google.Protobuf;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// Requests between members over the peer transport, beside Raft: a follower's lease keep-alive and time-to-live for
/// the leader, MemberPromote forwarded to the leader, the member list a joining member asks for, and whatever else one
/// member must ask another (the body types are listed in <see cref="PeerRequestTypes"/>). The actor-level form is
/// <see cref="PeerProtocol.AskPeer"/> told to the peer actor (<c>/user/peer</c>); this interface is how the member's
/// edge uses it (<see cref="Server.LeaseForwarding"/>, <see cref="Server.MemberChanges"/>, the corruption checks) and
/// how the <see cref="Server.PeerRequestsActor"/> is reached. Thread-safe.
/// </summary>
public interface IPeerRequests
{
    /// <summary>
    /// Asks the member <paramref name="memberId"/> and returns its answer (a message of a type in
    /// <see cref="PeerRequestTypes"/>).
    /// </summary>
    /// <exception cref="Protos.Errors.EtcdException">The peer's error with its code and etcd's text; Unavailable when
    /// the member is unknown or the transport stopped; DeadlineExceeded "peer request timed out" after
    /// <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired.</exception>
    Task<IMessage> AskAsync(ulong memberId, IMessage request, TimeSpan timeout, CancellationToken cancel);

    /// <summary>
    /// Serves a request another member sent: called with the sender's member ID (0 for a member that is joining and
    /// does not know its ID yet) and the request; returns the answer or throws an
    /// <see cref="Protos.Errors.EtcdException"/>, which the asker receives with the same code and text. Set before
    /// <see cref="IRaftTransport.Start"/>; null answers every request Unavailable.
    /// </summary>
    Func<ulong, IMessage, CancellationToken, Task<IMessage>>? Serve { get; set; }
}
