using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Akka.Etcd.Api.Gateway;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Tests.Grpc;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Mvccpb;

namespace Akka.Etcd.Api.Tests.Gateway;

using Event = Mvccpb.Event;

/// <summary>The JSON gateway on a listener: each call goes to the gRPC service through the member's own port.</summary>
public class GatewayEndpointsTests
{
    /// <summary>Range answers the key with value "bar"; Put refuses an empty key as etcd; Watch sends "created" and one event per request.</summary>
    private sealed class FakeKv : KV.KVBase
    {
        public override Task<RangeResponse> Range(RangeRequest request, ServerCallContext context) => Task.FromResult(new RangeResponse
        {
            Header = new ResponseHeader { ClusterId = 1, MemberId = 2, Revision = 3, RaftTerm = 4 },
            Kvs = { new KeyValue { Key = request.Key, Value = ByteString.CopyFromUtf8("bar"), CreateRevision = 2, ModRevision = 3, Version = 1 } },
            Count = 1,
        });

        public override Task<PutResponse> Put(PutRequest request, ServerCallContext context) =>
            request.Key.IsEmpty
                ? throw EtcdErrors.EmptyKey
                : Task.FromResult(new PutResponse { Header = new ResponseHeader { Revision = 4 } });
    }

    private sealed class FakeWatch : Watch.WatchBase
    {
        public override async Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream,
            ServerCallContext context)
        {
            var revision = 10L;
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                var key = requestStream.Current.CreateRequest.Key;
                await responseStream.WriteAsync(new WatchResponse { Header = new ResponseHeader { Revision = revision }, Created = true });
                await responseStream.WriteAsync(new WatchResponse
                {
                    Header = new ResponseHeader { Revision = ++revision },
                    Events = { new Event { Kv = new KeyValue { Key = key, ModRevision = revision } } },
                });
            }
        }
    }

    private static Task<TestHost> StartAsync(Action<EtcdListenerOptions>? configure = null) => TestHost.StartAsync(services =>
    {
        services.AddSingleton(new FakeKv()).AddSingleton(new FakeWatch()).AddEtcdGateway();
    }, app =>
    {
        var limits = new GrpcServerOptions();
        app.MapEtcdGrpcService<FakeKv>(limits);
        app.MapEtcdGrpcService<FakeWatch>(limits);
        app.MapEtcdGateway();
        app.MapEtcdGrpcFallback();
    }, configure);

    private static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostAsync(TestHost host, string path, string body)
    {
        using var http = new HttpClient();
        var response = await http.PostAsync(new Uri(host.Endpoint, path), new StringContent(body, Encoding.UTF8)).WaitAsync(TestHost.Timeout);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Fact]
    public async Task A_unary_call_answers_the_service_s_response_as_json()
    {
        await using var host = await StartAsync();
        var (status, body, response) = await PostAsync(host, "/v3/kv/range", "{\"key\":\"Zm9v\"}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"3\",\"raft_term\":\"4\"},\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"3\",\"version\":\"1\",\"value\":\"YmFy\"}],\"count\":\"1\"}",
            body);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task On_an_https_only_listener_under_client_certificate_auth_the_gateway_dials_with_the_listener_s_certificate()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=gateway-test-ca", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        X509Certificate2 Issue(string name, params string[] usages)
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var oids = new OidCollection();
            foreach (var usage in usages)
                oids.Add(new Oid(usage));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1), RandomNumberGenerator.GetBytes(8));
            using var withKey = issued.CopyWithPrivateKey(key);
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }
        const string ServerAuth = "1.3.6.1.5.5.7.3.1", ClientAuth = "1.3.6.1.5.5.7.3.2";
        using var serverCertificate = Issue("server", ServerAuth, ClientAuth); // as etcd's docs ask of a server cert used by its gateway
        using var clientCertificate = Issue("client", ClientAuth);
        var tls = new Akka.Etcd.Api.Hosting.Tls.LoadedTls(serverCertificate, [], RequireClientCertificate: true,
            TrustedCertificates: [ca], RevokedSerials: null, CipherSuites: []);
        await using var host = await StartAsync(options =>
        {
            options.ListenUrls = ["https://127.0.0.1:0"];
            options.Tls = tls;
        });
        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                ClientCertificates = new X509CertificateCollection { clientCertificate },
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            },
        });

        var response = await http.PostAsync(new Uri(host.Endpoint, "/v3/kv/range"), new StringContent("{\"key\":\"Zm9v\"}", Encoding.UTF8))
            .WaitAsync(TestHost.Timeout);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(Uri.UriSchemeHttps, host.Endpoint.Scheme);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
        Assert.Contains("\"value\":\"YmFy\"", body);
    }

    [Fact]
    public async Task The_v3beta_alias_serves_the_same_routes()
    {
        await using var host = await StartAsync();
        var (status, body, _) = await PostAsync(host, "/v3beta/kv/range", "{\"key\":\"Zm9v\"}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("\"value\":\"YmFy\"", body);
    }

    [Fact]
    public async Task A_service_error_is_etcd_s_json_with_grpc_gateway_s_http_status()
    {
        await using var host = await StartAsync();
        var (status, body, _) = await PostAsync(host, "/v3/kv/put", "{\"value\":\"YmFy\"}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("{\"error\":\"etcdserver: key is not provided\",\"message\":\"etcdserver: key is not provided\",\"code\":3}", body);
    }

    [Fact]
    public async Task A_bad_base64_key_is_refused_before_any_call()
    {
        await using var host = await StartAsync();
        var (status, body, _) = await PostAsync(host, "/v3/kv/range", "{\"key\":\"Zm9v!\"}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("{\"error\":\"illegal base64 data at input byte 4\",\"message\":\"illegal base64 data at input byte 4\",\"code\":3}", body);
    }

    [Fact]
    public async Task A_service_nobody_serves_answers_what_grpc_answers()
    {
        await using var host = await StartAsync();
        var (status, body, _) = await PostAsync(host, "/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"x\"}");
        Assert.Equal(HttpStatusCode.NotImplemented, status);
        Assert.Equal("{\"error\":\"unknown service etcdserverpb.Auth\",\"message\":\"unknown service etcdserverpb.Auth\",\"code\":12}", body);
    }

    [Fact]
    public async Task Unknown_paths_and_other_methods_get_go_s_texts()
    {
        await using var host = await StartAsync();
        var (missing, missingBody, _) = await PostAsync(host, "/v3/kv/nothing", "{}");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("Not Found\n", missingBody);
        using var http = new HttpClient();
        using var get = await http.GetAsync(new Uri(host.Endpoint, "/v3/kv/range")).WaitAsync(TestHost.Timeout);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal("Method Not Allowed\n", await get.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_bidirectional_stream_reads_json_requests_from_the_body_and_answers_result_lines()
    {
        await using var host = await StartAsync();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.Endpoint, "/v3/watch"))
        {
            Content = new StringContent("{\"create_request\":{\"key\":\"YQ==\"}}\n{\"create_request\":{\"key\":\"Yg==\"}}", Encoding.UTF8),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestHost.Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lines = new List<string>();
        for (var i = 0; i < 4; i++)
            lines.Add(await reader.ReadLineAsync().WaitAsync(TestHost.Timeout) ?? "");
        Assert.Equal("{\"result\":{\"header\":{\"revision\":\"10\"},\"created\":true}}", lines[0]);
        Assert.Equal("{\"result\":{\"header\":{\"revision\":\"11\"},\"events\":[{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"11\"}}]}}", lines[1]);
        Assert.Contains("\"key\":\"Yg==\"", lines[3]);
    }
}
