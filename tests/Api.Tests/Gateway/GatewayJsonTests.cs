using Akka.Etcd.Api.Gateway;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mvccpb;

namespace Akka.Etcd.Api.Tests.Gateway;

/// <summary>The gateway's JSON against what etcd 3.4's grpc-gateway prints and accepts (texts taken from etcd 3.4.23).</summary>
public class GatewayJsonTests
{
    [Theory]
    [InlineData("Zm9v", null)]
    [InlineData("Zm9vYg==", null)]
    [InlineData("Zm9vYmE=", null)]
    [InlineData("", null)]
    [InlineData("Zm9v!", 4)]      // etcd: illegal base64 data at input byte 4
    [InlineData("Zm9", 0)]        // etcd: illegal base64 data at input byte 0 (a short last quantum without padding)
    [InlineData("Z", 0)]
    [InlineData("Zm9vY", 4)]
    [InlineData("Zm9vYg=", 7)]    // not enough padding: Go reports the length
    [InlineData("Zm9vYg=x", 6)]
    [InlineData("Zm=v", 2)]
    [InlineData("=m9v", 0)]
    [InlineData("Zm9v\nYmFy", null)] // CR and LF are skipped
    [InlineData("Zm9vYg==Zm9v", 8)]  // data after the padding
    [InlineData("Zm9v_w==", 4)]      // the URL-safe alphabet is not the standard one
    // Every offset here is what etcd 3.4.23 answered for the same key.
    public void Base64_errors_are_reported_at_go_s_offsets(string text, int? offset) =>
        Assert.Equal(offset, GoBase64.ErrorOffset(text));

    [Fact]
    public void Responses_use_proto_field_names_int64_strings_base64_and_leave_defaults_out()
    {
        var response = new RangeResponse
        {
            Header = new ResponseHeader { ClusterId = 15118495548433857066, MemberId = 13668033151171901709, Revision = 2, RaftTerm = 2 },
            Kvs = { new KeyValue { Key = ByteString.CopyFromUtf8("foo"), Value = ByteString.CopyFromUtf8("bar"), CreateRevision = 2, ModRevision = 2, Version = 1 } },
            Count = 1,
        };

        // Byte for byte what etcd 3.4.23 answered to the same range.
        Assert.Equal(
            "{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"13668033151171901709\",\"revision\":\"2\",\"raft_term\":\"2\"}," +
            "\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"YmFy\"}],\"count\":\"1\"}",
            GatewayJson.Format(response));
    }

    [Fact]
    public void Etcd_s_own_camel_case_field_names_stay_as_the_proto_has_them()
    {
        var json = GatewayJson.Format(new LeaseTimeToLiveResponse { ID = 12345, TTL = 59, GrantedTTL = 60, Keys = { ByteString.CopyFromUtf8("lk") } });
        Assert.Equal("{\"ID\":\"12345\",\"TTL\":\"59\",\"grantedTTL\":\"60\",\"keys\":[\"bGs=\"]}", json);
    }

    [Fact]
    public void Stream_messages_are_wrapped_in_result()
    {
        var line = GatewayJson.FormatStreamResult(new WatchResponse { Header = new ResponseHeader { Revision = 5 }, Created = true });
        Assert.Equal("{\"result\":{\"header\":{\"revision\":\"5\"},\"created\":true}}", line);
    }

    [Fact]
    public void Requests_accept_proto_and_json_names_enum_names_and_numbers_and_ignore_unknown_fields()
    {
        var parsed = (RangeRequest)GatewayJson.ParseRequest(RangeRequest.Descriptor,
            "{\"key\":\"Zm9v\",\"range_end\":\"Zm9w\",\"limit\":\"2\",\"sortOrder\":1,\"sort_target\":\"MOD\",\"keys_only\":true,\"no_such_field\":{\"x\":1}}");
        Assert.Equal("foo", parsed.Key.ToStringUtf8());
        Assert.Equal("fop", parsed.RangeEnd.ToStringUtf8());
        Assert.Equal(2, parsed.Limit);
        Assert.Equal(RangeRequest.Types.SortOrder.Ascend, parsed.SortOrder);
        Assert.Equal(RangeRequest.Types.SortTarget.Mod, parsed.SortTarget);
        Assert.True(parsed.KeysOnly);
    }

    [Fact]
    public void An_empty_body_is_the_empty_request()
    {
        Assert.Equal(new StatusRequest(), GatewayJson.ParseRequest(StatusRequest.Descriptor, ""));
        Assert.Equal(new StatusRequest(), GatewayJson.ParseRequest(StatusRequest.Descriptor, "  \n"));
    }

    [Theory]
    [InlineData("{\"key\":\"Zm9v!\"}", "illegal base64 data at input byte 4")]
    [InlineData("{\"key\":", "unexpected EOF")]
    [InlineData("{\"compare\":[{\"key\":\"Zm9v\",\"value\":\"Y\"}]}", "illegal base64 data at input byte 0")]
    public void Bad_requests_are_invalid_argument_with_go_s_text(string json, string message)
    {
        var descriptor = json.Contains("compare") ? TxnRequest.Descriptor : RangeRequest.Descriptor;
        var error = Assert.Throws<RpcException>(() => GatewayJson.ParseRequest(descriptor, json));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(message, error.Status.Detail);
    }

    [Fact]
    public void Errors_are_grpc_gateway_s_bodies()
    {
        Assert.Equal("{\"error\":\"etcdserver: key is not provided\",\"message\":\"etcdserver: key is not provided\",\"code\":3}",
            GatewayJson.FormatError(new Status(StatusCode.InvalidArgument, "etcdserver: key is not provided")));
        Assert.Equal("{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}",
            GatewayJson.FormatStreamError(new Status(StatusCode.Unavailable, "etcdserver: no leader")));
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument, 400)]
    [InlineData(StatusCode.NotFound, 404)]
    [InlineData(StatusCode.FailedPrecondition, 412)]
    [InlineData(StatusCode.ResourceExhausted, 429)]
    [InlineData(StatusCode.Unavailable, 503)]
    [InlineData(StatusCode.Unimplemented, 501)]
    [InlineData(StatusCode.OutOfRange, 400)]
    [InlineData(StatusCode.Unauthenticated, 401)]
    [InlineData(StatusCode.PermissionDenied, 403)]
    [InlineData(StatusCode.Cancelled, 408)]
    public void Status_codes_map_to_grpc_gateway_s_http_statuses(StatusCode code, int http) =>
        Assert.Equal(http, GatewayStatus.HttpStatusOf(code));

    [Fact]
    public void Every_route_of_etcd_s_protos_resolves_to_a_method_with_the_right_streaming()
    {
        var routes = GatewayRoutes.ByPath;
        Assert.Equal(48, routes.Count);
        Assert.Equal("/etcdserverpb.KV/Range", routes["/v3/kv/range"].GrpcPath);
        Assert.Equal("/etcdserverpb.Maintenance/Hash", routes["/v3/maintenance/hash"].GrpcPath);
        Assert.Equal("/etcdserverpb.Maintenance/MoveLeader", routes["/v3/maintenance/transfer-leadership"].GrpcPath);
        Assert.Equal("/etcdserverpb.Auth/UserChangePassword", routes["/v3/auth/user/changepw"].GrpcPath);
        Assert.True(routes["/v3/watch"].ClientStreams && routes["/v3/watch"].ServerStreams);
        Assert.True(routes["/v3/lease/keepalive"].ClientStreams);
        Assert.True(routes["/v3/maintenance/snapshot"].ServerStreams && !routes["/v3/maintenance/snapshot"].ClientStreams);
        Assert.True(routes["/v3/election/observe"].ServerStreams);
        Assert.Equal(MethodType.DuplexStreaming, GatewayRoutes.GrpcMethod(routes["/v3/watch"]).Type);
    }
}
