namespace Akka.Etcd.Actors.Lease;

/// <summary>
/// Chooses the ID of a lease granted without one, as etcd's <c>LeaseGrant</c> (etcdserver/v3_server.go):
/// the next request ID with the sign bit cleared (<c>Next() &amp; ((1 &lt;&lt; 63) - 1)</c>), drawn again while it is 0.
/// The ID is chosen before the grant is proposed, so every member applies the same one. Thread-safe if the
/// supplier is (the server's <c>RequestIdGenerator.Next</c> is).
/// </summary>
public sealed class LeaseIdGenerator
{
    private readonly Func<ulong> _nextRequestId;

    /// <summary>Creates a generator drawing from <paramref name="nextRequestId"/>, e.g. <c>RequestIdGenerator.Next</c>.</summary>
    /// <param name="nextRequestId">Supplier of unique 64-bit request IDs.</param>
    public LeaseIdGenerator(Func<ulong> nextRequestId) => _nextRequestId = nextRequestId;

    /// <summary>Returns a positive lease ID.</summary>
    public long Next()
    {
        while (true)
        {
            var id = (long)(_nextRequestId() & long.MaxValue);
            if (id != 0)
            {
                return id;
            }
        }
    }

    /// <summary>
    /// Returns <paramref name="requestedId"/> if the client chose one (non-zero), otherwise a new ID: the ID to put in
    /// the proposed <c>LeaseGrantRequest</c>.
    /// </summary>
    /// <param name="requestedId">The <c>ID</c> field of the client's <c>LeaseGrantRequest</c>; 0 = server chooses.</param>
    public long Resolve(long requestedId) => requestedId != 0 ? requestedId : Next();
}
