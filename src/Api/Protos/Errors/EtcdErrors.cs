namespace Akka.Etcd.Protos.Errors;

/// <summary>
/// etcd's client-visible errors: gRPC status code plus the exact message text, as listed in
/// etcd's etcdserver/api/v3rpc/rpctypes/error.go. Each property returns a new exception to throw.
/// </summary>
public static class EtcdErrors
{
    /// <summary><c>InvalidArgument</c>: "etcdserver: key is not provided".</summary>
    public static EtcdException EmptyKey => new(RpcStatusCode.InvalidArgument, "etcdserver: key is not provided");
    /// <summary><c>InvalidArgument</c>: "etcdserver: key not found".</summary>
    public static EtcdException KeyNotFound => new(RpcStatusCode.InvalidArgument, "etcdserver: key not found");
    /// <summary><c>InvalidArgument</c>: "etcdserver: value is provided".</summary>
    public static EtcdException ValueProvided => new(RpcStatusCode.InvalidArgument, "etcdserver: value is provided");
    /// <summary><c>InvalidArgument</c>: "etcdserver: lease is provided".</summary>
    public static EtcdException LeaseProvided => new(RpcStatusCode.InvalidArgument, "etcdserver: lease is provided");
    /// <summary><c>InvalidArgument</c>: "etcdserver: too many operations in txn request".</summary>
    public static EtcdException TooManyOps => new(RpcStatusCode.InvalidArgument, "etcdserver: too many operations in txn request");
    /// <summary><c>InvalidArgument</c>: "etcdserver: duplicate key given in txn request".</summary>
    public static EtcdException DuplicateKey => new(RpcStatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request");
    /// <summary><c>OutOfRange</c>: "etcdserver: mvcc: required revision has been compacted".</summary>
    public static EtcdException Compacted => new(RpcStatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted");
    /// <summary><c>OutOfRange</c>: "etcdserver: mvcc: required revision is a future revision".</summary>
    public static EtcdException FutureRev => new(RpcStatusCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision");
    /// <summary><c>ResourceExhausted</c>: "etcdserver: mvcc: database space exceeded".</summary>
    public static EtcdException NoSpace => new(RpcStatusCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded");
    /// <summary><c>NotFound</c>: "etcdserver: requested lease not found".</summary>
    public static EtcdException LeaseNotFound => new(RpcStatusCode.NotFound, "etcdserver: requested lease not found");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: lease already exists".</summary>
    public static EtcdException LeaseExist => new(RpcStatusCode.FailedPrecondition, "etcdserver: lease already exists");
    /// <summary><c>OutOfRange</c>: "etcdserver: too large lease TTL".</summary>
    public static EtcdException LeaseTTLTooLarge => new(RpcStatusCode.OutOfRange, "etcdserver: too large lease TTL");
    /// <summary><c>Cancelled</c>: "etcdserver: watch canceled".</summary>
    public static EtcdException WatchCanceled => new(RpcStatusCode.Cancelled, "etcdserver: watch canceled");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: member ID already exist".</summary>
    public static EtcdException MemberExist => new(RpcStatusCode.FailedPrecondition, "etcdserver: member ID already exist");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: Peer URLs already exists".</summary>
    public static EtcdException PeerURLExist => new(RpcStatusCode.FailedPrecondition, "etcdserver: Peer URLs already exists");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: re-configuration failed due to not enough started members".</summary>
    public static EtcdException MemberNotEnoughStarted => new(RpcStatusCode.FailedPrecondition, "etcdserver: re-configuration failed due to not enough started members");
    /// <summary><c>InvalidArgument</c>: "etcdserver: given member URLs are invalid".</summary>
    public static EtcdException MemberBadURLs => new(RpcStatusCode.InvalidArgument, "etcdserver: given member URLs are invalid");
    /// <summary><c>NotFound</c>: "etcdserver: member not found".</summary>
    public static EtcdException MemberNotFound => new(RpcStatusCode.NotFound, "etcdserver: member not found");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: can only promote a learner member".</summary>
    public static EtcdException MemberNotLearner => new(RpcStatusCode.FailedPrecondition, "etcdserver: can only promote a learner member");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: can only promote a learner member which is in sync with leader".</summary>
    public static EtcdException LearnerNotReady => new(RpcStatusCode.FailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: too many learner members in cluster".</summary>
    public static EtcdException TooManyLearners => new(RpcStatusCode.FailedPrecondition, "etcdserver: too many learner members in cluster");
    /// <summary><c>InvalidArgument</c>: "etcdserver: request is too large".</summary>
    public static EtcdException RequestTooLarge => new(RpcStatusCode.InvalidArgument, "etcdserver: request is too large");
    /// <summary><c>ResourceExhausted</c>: "etcdserver: too many requests".</summary>
    public static EtcdException RequestTooManyRequests => new(RpcStatusCode.ResourceExhausted, "etcdserver: too many requests");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: root user does not exist".</summary>
    public static EtcdException RootUserNotExist => new(RpcStatusCode.FailedPrecondition, "etcdserver: root user does not exist");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: root user does not have root role".</summary>
    public static EtcdException RootRoleNotExist => new(RpcStatusCode.FailedPrecondition, "etcdserver: root user does not have root role");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: user name already exists".</summary>
    public static EtcdException UserAlreadyExist => new(RpcStatusCode.FailedPrecondition, "etcdserver: user name already exists");
    /// <summary><c>InvalidArgument</c>: "etcdserver: user name is empty".</summary>
    public static EtcdException UserEmpty => new(RpcStatusCode.InvalidArgument, "etcdserver: user name is empty");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: user name not found".</summary>
    public static EtcdException UserNotFound => new(RpcStatusCode.FailedPrecondition, "etcdserver: user name not found");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: role name already exists".</summary>
    public static EtcdException RoleAlreadyExist => new(RpcStatusCode.FailedPrecondition, "etcdserver: role name already exists");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: role name not found".</summary>
    public static EtcdException RoleNotFound => new(RpcStatusCode.FailedPrecondition, "etcdserver: role name not found");
    /// <summary><c>InvalidArgument</c>: "etcdserver: role name is empty".</summary>
    public static EtcdException RoleEmpty => new(RpcStatusCode.InvalidArgument, "etcdserver: role name is empty");
    /// <summary><c>InvalidArgument</c>: "etcdserver: authentication failed, invalid user ID or password".</summary>
    public static EtcdException AuthFailed => new(RpcStatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password");
    /// <summary><c>PermissionDenied</c>: "etcdserver: permission denied".</summary>
    public static EtcdException PermissionDenied => new(RpcStatusCode.PermissionDenied, "etcdserver: permission denied");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: role is not granted to the user".</summary>
    public static EtcdException RoleNotGranted => new(RpcStatusCode.FailedPrecondition, "etcdserver: role is not granted to the user");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: permission is not granted to the role".</summary>
    public static EtcdException PermissionNotGranted => new(RpcStatusCode.FailedPrecondition, "etcdserver: permission is not granted to the role");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: authentication is not enabled".</summary>
    public static EtcdException AuthNotEnabled => new(RpcStatusCode.FailedPrecondition, "etcdserver: authentication is not enabled");
    /// <summary><c>Unauthenticated</c>: "etcdserver: invalid auth token".</summary>
    public static EtcdException InvalidAuthToken => new(RpcStatusCode.Unauthenticated, "etcdserver: invalid auth token");
    /// <summary><c>InvalidArgument</c>: "etcdserver: invalid auth management".</summary>
    public static EtcdException InvalidAuthMgmt => new(RpcStatusCode.InvalidArgument, "etcdserver: invalid auth management");
    /// <summary><c>InvalidArgument</c>: "etcdserver: revision of auth store is old".</summary>
    public static EtcdException AuthOldRevision => new(RpcStatusCode.InvalidArgument, "etcdserver: revision of auth store is old");
    /// <summary><c>Unavailable</c>: "etcdserver: no leader".</summary>
    public static EtcdException NoLeader => new(RpcStatusCode.Unavailable, "etcdserver: no leader");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: not leader".</summary>
    public static EtcdException NotLeader => new(RpcStatusCode.FailedPrecondition, "etcdserver: not leader");
    /// <summary><c>Unavailable</c>: "etcdserver: leader changed".</summary>
    public static EtcdException LeaderChanged => new(RpcStatusCode.Unavailable, "etcdserver: leader changed");
    /// <summary><c>Unavailable</c>: "etcdserver: not capable".</summary>
    public static EtcdException NotCapable => new(RpcStatusCode.Unavailable, "etcdserver: not capable");
    /// <summary><c>Unavailable</c>: "etcdserver: server stopped".</summary>
    public static EtcdException Stopped => new(RpcStatusCode.Unavailable, "etcdserver: server stopped");
    /// <summary><c>Unavailable</c>: "etcdserver: request timed out".</summary>
    public static EtcdException Timeout => new(RpcStatusCode.Unavailable, "etcdserver: request timed out");
    /// <summary><c>Unavailable</c>: "etcdserver: request timed out, possibly due to previous leader failure".</summary>
    public static EtcdException TimeoutDueToLeaderFail => new(RpcStatusCode.Unavailable, "etcdserver: request timed out, possibly due to previous leader failure");
    /// <summary><c>Unavailable</c>: "etcdserver: request timed out, possibly due to connection lost".</summary>
    public static EtcdException TimeoutDueToConnectionLost => new(RpcStatusCode.Unavailable, "etcdserver: request timed out, possibly due to connection lost");
    /// <summary><c>Unavailable</c>: "etcdserver: request timed out, waiting for the applied index took too long".</summary>
    public static EtcdException TimeoutWaitAppliedIndex => new(RpcStatusCode.Unavailable, "etcdserver: request timed out, waiting for the applied index took too long");
    /// <summary><c>Unavailable</c>: "etcdserver: unhealthy cluster".</summary>
    public static EtcdException Unhealthy => new(RpcStatusCode.Unavailable, "etcdserver: unhealthy cluster");
    /// <summary><c>DataLoss</c>: "etcdserver: corrupt cluster".</summary>
    public static EtcdException Corrupt => new(RpcStatusCode.DataLoss, "etcdserver: corrupt cluster");
    /// <summary><c>Unavailable</c>: "etcdserver: rpc not supported for learner".</summary>
    public static EtcdException NotSupportedForLearner => new(RpcStatusCode.Unavailable, "etcdserver: rpc not supported for learner");
    /// <summary><c>FailedPrecondition</c>: "etcdserver: bad leader transferee".</summary>
    public static EtcdException BadLeaderTransferee => new(RpcStatusCode.FailedPrecondition, "etcdserver: bad leader transferee");
}
