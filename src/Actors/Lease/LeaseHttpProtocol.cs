using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Lease;

/// <summary>
/// The wire contract of lease forwarding over the peer port, as etcd 3.4's <c>lease/leasehttp</c>: a follower cannot
/// renew a lease (only the leader's lessor holds deadlines), so it POSTs to the leader's peer URL.
/// <list type="bullet">
/// <item><see cref="RenewPath"/>: body a protobuf <c>LeaseKeepAliveRequest</c>; answer 200 with a protobuf
/// <c>LeaseKeepAliveResponse</c> (ID and TTL in seconds, no header).</item>
/// <item><see cref="TimeToLivePath"/>: body a protobuf <c>leasepb.LeaseInternalRequest</c> (field 1: a
/// <c>LeaseTimeToLiveRequest</c>); answer 200 with a <c>leasepb.LeaseInternalResponse</c> (field 1: a
/// <c>LeaseTimeToLiveResponse</c>, empty header).</item>
/// </list>
/// Both use <see cref="ContentType"/>. Errors are plain text: 404 <see cref="LeaseNotFoundText"/> for an unknown lease,
/// 408 <see cref="ApplyTimeoutText"/> when the leader could not catch up its applied index within
/// <see cref="ApplyTimeout"/>, 400 for a body that does not parse or a lessor that is not the primary
/// (<see cref="NotPrimaryText"/>), 405 for a method other than POST.
/// </summary>
public static class LeaseHttpProtocol
{
    /// <summary>Path of a forwarded keep-alive (etcd's <c>leasehttp.LeasePrefix</c>).</summary>
    public const string RenewPath = "/leases";

    /// <summary>Path of a forwarded time-to-live query (etcd's <c>leasehttp.LeaseInternalPrefix</c>).</summary>
    public const string TimeToLivePath = "/leases/internal";

    /// <summary>Content type of requests and successful answers.</summary>
    public const string ContentType = "application/protobuf";

    /// <summary>Body of a 404 answer (etcd's <c>lease.ErrLeaseNotFound</c> text).</summary>
    public const string LeaseNotFoundText = "lease not found";

    /// <summary>Body of a 400 answer from a member whose lessor is not the primary (etcd's <c>lease.ErrNotPrimary</c>).</summary>
    public const string NotPrimaryText = "not a primary lessor";

    /// <summary>Body of a 408 answer (etcd's <c>leasehttp.ErrLeaseHTTPTimeout</c>).</summary>
    public const string ApplyTimeoutText = "waiting for node to catch up its applied index has timed out";

    /// <summary>How long the leader waits for its applied index to reach its commit index before it answers 408: 1 s.</summary>
    public static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(1);

    private const uint InternalMessageTag = (1 << 3) | 2;

    /// <summary>Encodes a <c>leasepb.LeaseInternalRequest</c> wrapping <paramref name="request"/>.</summary>
    public static byte[] EncodeInternalRequest(LeaseTimeToLiveRequest request) => Wrap(request);

    /// <summary>Encodes a <c>leasepb.LeaseInternalResponse</c> wrapping <paramref name="response"/>.</summary>
    public static byte[] EncodeInternalResponse(LeaseTimeToLiveResponse response) => Wrap(response);

    /// <summary>Decodes a <c>leasepb.LeaseInternalRequest</c>; an absent field 1 gives an empty request.</summary>
    /// <exception cref="InvalidProtocolBufferException">The bytes are not such a message.</exception>
    public static LeaseTimeToLiveRequest DecodeInternalRequest(ReadOnlySpan<byte> bytes) => Unwrap(bytes, new LeaseTimeToLiveRequest());

    /// <summary>Decodes a <c>leasepb.LeaseInternalResponse</c>; an absent field 1 gives an empty response.</summary>
    /// <exception cref="InvalidProtocolBufferException">The bytes are not such a message.</exception>
    public static LeaseTimeToLiveResponse DecodeInternalResponse(ReadOnlySpan<byte> bytes) => Unwrap(bytes, new LeaseTimeToLiveResponse());

    private static byte[] Wrap(IMessage inner)
    {
        var size = inner.CalculateSize();
        var bytes = new byte[CodedOutputStream.ComputeTagSize(1) + CodedOutputStream.ComputeLengthSize(size) + size];
        var output = new CodedOutputStream(bytes);
        output.WriteTag(InternalMessageTag);
        output.WriteMessage(inner);
        output.CheckNoSpaceLeft();
        return bytes;
    }

    private static T Unwrap<T>(ReadOnlySpan<byte> bytes, T inner) where T : IMessage
    {
        var input = new CodedInputStream(bytes.ToArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (tag == InternalMessageTag)
            {
                input.ReadMessage(inner);
            }
            else
            {
                input.SkipLastField();
            }
        }
        return inner;
    }
}
