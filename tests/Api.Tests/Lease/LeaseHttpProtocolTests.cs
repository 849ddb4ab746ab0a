using Akka.Etcd.Actors.Lease;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Tests.Lease;

/// <summary>The leasepb.LeaseInternalRequest/Response wrapping of <see cref="LeaseHttpProtocol"/>.</summary>
public sealed class LeaseHttpProtocolTests
{
    [Fact]
    public void An_internal_request_is_field_1_holding_the_time_to_live_request_and_round_trips()
    {
        var request = new LeaseTimeToLiveRequest { ID = 0x1234, Keys = true };

        var bytes = LeaseHttpProtocol.EncodeInternalRequest(request);

        // leasepb: message LeaseInternalRequest { etcdserverpb.LeaseTimeToLiveRequest LeaseTimeToLiveRequest = 1; }
        Assert.Equal(new byte[] { 0x0a, (byte)request.CalculateSize() }.Concat(request.ToByteArray()), bytes);
        Assert.Equal(request, LeaseHttpProtocol.DecodeInternalRequest(bytes));
    }

    [Fact]
    public void An_internal_response_round_trips_keys_and_skips_unknown_fields()
    {
        var response = new LeaseTimeToLiveResponse { Header = new ResponseHeader(), ID = 7, TTL = 12, GrantedTTL = 30, Keys = { ByteString.CopyFromUtf8("k") } };
        var bytes = LeaseHttpProtocol.EncodeInternalResponse(response).Concat(new byte[] { 0x10, 0x05 }).ToArray();

        Assert.Equal(response, LeaseHttpProtocol.DecodeInternalResponse(bytes));
        Assert.Equal(new LeaseTimeToLiveResponse(), LeaseHttpProtocol.DecodeInternalResponse([]));
        Assert.Throws<InvalidProtocolBufferException>(() => LeaseHttpProtocol.DecodeInternalResponse([0x0a, 0x05, 0x01]));
    }
}
