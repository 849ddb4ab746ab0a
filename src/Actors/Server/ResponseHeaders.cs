using Etcdserverpb;

namespace Akka.Etcd.Actors.Server;

/// <summary>Fills the member-specific fields every etcd response header carries.</summary>
public static class ResponseHeaders
{
    /// <summary>
    /// Sets <c>cluster_id</c>, <c>member_id</c> and <c>raft_term</c> from <paramref name="status"/>; the
    /// <c>revision</c> is set by whoever produced the response (the store's revision at that point).
    /// </summary>
    public static ResponseHeader Fill(ResponseHeader header, ServerStatus status)
    {
        header.ClusterId = status.ClusterId;
        header.MemberId = status.MemberId;
        header.RaftTerm = status.Term;
        return header;
    }

    /// <summary>A new header for responses that carry no store revision of their own.</summary>
    public static ResponseHeader Create(ServerStatus status, long revision) =>
        Fill(new ResponseHeader { Revision = revision }, status);
}
