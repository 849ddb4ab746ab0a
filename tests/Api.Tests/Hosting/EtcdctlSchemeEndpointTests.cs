using System.Diagnostics;
using System.Text.Json;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Tests.Grpc;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Mvccpb;

namespace Akka.Etcd.Api.Tests.Hosting;

/// <summary>
/// The real etcdctl 3.4 with <c>--endpoints=http://127.0.0.1:PORT</c>: clientv3 dials Maintenance calls with the raw
/// endpoint, so grpc-go sends <c>:authority: http://127.0.0.1:PORT</c>, which Kestrel alone would reset with PROTOCOL_ERROR.
/// </summary>
public class EtcdctlSchemeEndpointTests
{
    private static readonly ResponseHeader Header = new() { ClusterId = 11, MemberId = 22, Revision = 33, RaftTerm = 4 };

    private sealed class FixedMaintenance : Maintenance.MaintenanceBase
    {
        public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context) => Task.FromResult(new StatusResponse
        {
            Header = Header, Version = "3.4.99", DbSize = 4096, Leader = 22, RaftIndex = 40, RaftTerm = 4, RaftAppliedIndex = 40, DbSizeInUse = 2048,
        });

        public override Task<HashKVResponse> HashKV(HashKVRequest request, ServerCallContext context) =>
            Task.FromResult(new HashKVResponse { Header = Header, Hash = 123456789, CompactRevision = 7 });
    }

    private sealed class FixedKv : KV.KVBase
    {
        public override Task<RangeResponse> Range(RangeRequest request, ServerCallContext context) => Task.FromResult(new RangeResponse
        {
            Header = Header,
            Kvs = { new KeyValue { Key = request.Key, Value = ByteString.CopyFromUtf8("bar"), CreateRevision = 2, ModRevision = 3, Version = 1 } },
            Count = 1,
        });
    }

    private static Task<TestHost> StartAsync() => TestHost.StartAsync(
        services => services.AddSingleton(new FixedMaintenance()).AddSingleton(new FixedKv()),
        app =>
        {
            app.MapEtcdGrpcService<FixedMaintenance>(new GrpcServerOptions());
            app.MapEtcdGrpcService<FixedKv>(new GrpcServerOptions());
            app.MapEtcdGrpcFallback();
        });

    [Fact]
    public async Task Endpoint_status_answers_through_a_scheme_prefixed_endpoint()
    {
        await using var host = await StartAsync();
        var endpoint = Endpoint(host);

        var (exitCode, stdout, stderr) = await EtcdctlAsync(endpoint, "endpoint", "status", "-w", "json");

        Assert.True(exitCode == 0, $"etcdctl exited {exitCode}: {stderr}");
        using var json = JsonDocument.Parse(stdout);
        var entry = Assert.Single(json.RootElement.EnumerateArray().ToArray());
        Assert.Equal(endpoint, entry.GetProperty("Endpoint").GetString());
        var status = entry.GetProperty("Status");
        Assert.Equal("3.4.99", status.GetProperty("version").GetString());
        Assert.Equal(4096, status.GetProperty("dbSize").GetInt64());
        Assert.Equal(22ul, status.GetProperty("leader").GetUInt64());
        Assert.Equal(22ul, status.GetProperty("header").GetProperty("member_id").GetUInt64());
    }

    [Fact]
    public async Task Endpoint_hashkv_answers_through_a_scheme_prefixed_endpoint()
    {
        await using var host = await StartAsync();

        var (exitCode, stdout, stderr) = await EtcdctlAsync(Endpoint(host), "endpoint", "hashkv", "-w", "json");

        Assert.True(exitCode == 0, $"etcdctl exited {exitCode}: {stderr}");
        using var json = JsonDocument.Parse(stdout);
        var hashKv = Assert.Single(json.RootElement.EnumerateArray().ToArray()).GetProperty("HashKV");
        Assert.Equal(123456789u, hashKv.GetProperty("hash").GetUInt32());
        Assert.Equal(7, hashKv.GetProperty("compact_revision").GetInt64());
    }

    [Fact]
    public async Task Get_still_works_through_a_scheme_prefixed_endpoint()
    {
        await using var host = await StartAsync();

        var (exitCode, stdout, stderr) = await EtcdctlAsync(Endpoint(host), "get", "foo");

        Assert.True(exitCode == 0, $"etcdctl exited {exitCode}: {stderr}");
        Assert.Equal("foo\nbar\n", stdout);
        Assert.Empty(host.Logs.Errors);
    }

    private static string Endpoint(TestHost host) => host.Endpoint.GetLeftPart(UriPartial.Authority); // http://127.0.0.1:PORT

    private static async Task<(int ExitCode, string Stdout, string Stderr)> EtcdctlAsync(string endpoint, params string[] command)
    {
        var start = new ProcessStartInfo("etcdctl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ETCDCTL_API"] = "3";
        foreach (var arg in new[] { $"--endpoints={endpoint}", "--dial-timeout=5s", "--command-timeout=5s" }.Concat(command))
            start.ArgumentList.Add(arg);

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        return (process.ExitCode, await stdout, await stderr);
    }
}
