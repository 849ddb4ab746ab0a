using System.IO.Pipelines;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Mvccpb;

namespace Akka.Etcd.Api.Tests.Grpc;

/// <summary>
/// What our services get from the layer they sit on (Grpc.AspNetCore with <see cref="EtcdGrpcEndpoints"/>): etcd's error
/// codes and texts, grpc-go's texts for limits and unknown methods, deadlines, cancellation and write batching.
/// </summary>
public class GrpcFacadeTests
{
    private static RangeRequest Request(string key) => new() { Key = ByteString.CopyFromUtf8(key) };

    private static KV.KVClient Kv(TestHost host) => new(host.Channel);

    /// <summary>A KV service whose Range runs the test's handler; Put throws what the test says.</summary>
    private sealed class FakeKv(Func<RangeRequest, ServerCallContext, Task<RangeResponse>> range, Exception? putFailure = null) : KV.KVBase
    {
        public override Task<RangeResponse> Range(RangeRequest request, ServerCallContext context) => range(request, context);

        public override Task<PutResponse> Put(PutRequest request, ServerCallContext context) =>
            putFailure is null ? Task.FromResult(new PutResponse()) : Task.FromException<PutResponse>(putFailure);
    }

    private static FakeKv Echo() => new((request, _) => Task.FromResult(new RangeResponse
    {
        Count = request.Limit,
        Kvs = { new KeyValue { Key = request.Key } },
    }));

    [Fact]
    public async Task Etcd_exception_reaches_the_client_with_exact_code_and_message()
    {
        const string text = "etcdserver: 100% naïve\r\nmessage ✓";
        await using var host = await TestHost.StartAsync(new FakeKv((_, _) => throw EtcdErrors.Compacted,
            new EtcdException(RpcStatusCode.FailedPrecondition, text)));

        var compacted = await Assert.ThrowsAsync<RpcException>(() => Kv(host).RangeAsync(Request("k")).ResponseAsync.WaitAsync(TestHost.Timeout));
        Assert.Equal(StatusCode.OutOfRange, compacted.StatusCode);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", compacted.Status.Detail);

        var custom = await Assert.ThrowsAsync<RpcException>(() => Kv(host).PutAsync(new PutRequest()).ResponseAsync.WaitAsync(TestHost.Timeout));
        Assert.Equal(StatusCode.FailedPrecondition, custom.StatusCode);
        Assert.Equal(text, custom.Status.Detail);
        Assert.Empty(host.Logs.Errors);
    }

    [Fact]
    public async Task Other_exceptions_become_unknown_with_their_message_and_are_logged()
    {
        await using var host = await TestHost.StartAsync(new FakeKv((_, _) => throw new InvalidOperationException("boom")));

        var e = await Assert.ThrowsAsync<RpcException>(() => Kv(host).RangeAsync(Request("k")).ResponseAsync.WaitAsync(TestHost.Timeout));

        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.Equal("boom", e.Status.Detail);
        Assert.Contains(host.Logs.Errors, entry => entry.Exception is InvalidOperationException { Message: "boom" });
    }

    [Fact]
    public async Task Oversize_request_gets_resource_exhausted_with_grpc_go_text_and_the_next_call_works()
    {
        await using var host = await TestHost.StartAsync(Echo(), new GrpcServerOptions { MaxReceiveMessageBytes = 1024 });

        var request = Request(new string('v', 5000));
        var e = await Assert.ThrowsAsync<RpcException>(() => Kv(host).RangeAsync(request).ResponseAsync.WaitAsync(TestHost.Timeout));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal($"grpc: received message larger than max ({request.CalculateSize()} vs. 1024)", e.Status.Detail);
        var ok = await Kv(host).RangeAsync(Request("small")).ResponseAsync.WaitAsync(TestHost.Timeout);
        Assert.Equal("small", ok.Kvs[0].Key.ToStringUtf8());
        // Exactly at the limit passes.
        var atLimit = Request(new string('v', 1024 - 3));
        Assert.Equal(1024, atLimit.CalculateSize());
        await Kv(host).RangeAsync(atLimit).ResponseAsync.WaitAsync(TestHost.Timeout);
    }

    [Fact]
    public async Task Oversize_message_in_the_middle_of_a_stream_ends_it_with_resource_exhausted()
    {
        var received = 0;
        await using var host = await TestHost.StartAsync(new EchoWatch(() => Interlocked.Increment(ref received)),
            new GrpcServerOptions { MaxReceiveMessageBytes = 100 });
        using var call = new Watch.WatchClient(host.Channel).Watch();

        await call.RequestStream.WriteAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() });
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
        var big = new WatchRequest { CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFrom(new byte[200]) } };
        await call.RequestStream.WriteAsync(big);

        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal($"grpc: received message larger than max ({big.CalculateSize()} vs. 100)", e.Status.Detail);
        Assert.Equal(1, received);
    }

    [Theory]
    [InlineData("/etcdserverpb.Lease/LeaseGrant", "unknown service etcdserverpb.Lease")]
    [InlineData("/etcdserverpb.KV/Nope", "unknown method Nope for service etcdserverpb.KV")]
    [InlineData("/etcdserverpb.KV/Compact", "unknown method Compact for service etcdserverpb.KV")] // generated base, not overridden
    [InlineData("/nonsense", "malformed method name: \"/nonsense\"")]
    public async Task Methods_nobody_serves_are_unimplemented_with_grpc_go_text(string path, string message)
    {
        await using var host = await TestHost.StartAsync(Echo());
        using var http = new HttpClient(new SocketsHttpHandler()) { DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var body = new byte[] { 0, 0, 0, 0, 0 }; // one empty message
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.Endpoint, path))
        {
            Content = new ByteArrayContent(body),
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");

        using var response = await http.SendAsync(request).WaitAsync(TestHost.Timeout);

        // Trailers-only: the status rides in the headers.
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var status = response.Headers.TryGetValues("grpc-status", out var s) ? s.Single()
            : response.TrailingHeaders.GetValues("grpc-status").Single();
        var detail = response.Headers.TryGetValues("grpc-message", out var m) ? m.Single()
            : response.TrailingHeaders.GetValues("grpc-message").Single();
        Assert.Equal("12", status);
        Assert.Equal(message, Uri.UnescapeDataString(detail));
    }

    [Fact]
    public async Task Grpc_timeout_cancels_the_handler_and_answers_deadline_exceeded()
    {
        var seen = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestHost.StartAsync(new FakeKv(async (_, context) =>
        {
            seen.TrySetResult(context.Deadline);
            using var registration = context.CancellationToken.Register(() => cancelled.TrySetResult());
            await Task.Delay(System.Threading.Timeout.Infinite, context.CancellationToken);
            return new RangeResponse();
        }));

        var deadline = DateTime.UtcNow.AddMilliseconds(300);
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            Kv(host).RangeAsync(Request("k"), deadline: deadline).ResponseAsync.WaitAsync(TestHost.Timeout));

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.InRange(await seen.Task.WaitAsync(TestHost.Timeout), deadline.AddSeconds(-1), deadline.AddSeconds(1));
        await cancelled.Task.WaitAsync(TestHost.Timeout);
    }

    [Fact]
    public async Task Client_cancel_fires_the_handler_token()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestHost.StartAsync(new FakeKv(async (_, context) =>
        {
            using var registration = context.CancellationToken.Register(() => cancelled.TrySetResult());
            started.SetResult();
            await Task.Delay(System.Threading.Timeout.Infinite, context.CancellationToken);
            return new RangeResponse();
        }));

        using var cts = new CancellationTokenSource();
        var call = Kv(host).RangeAsync(Request("k"), cancellationToken: cts.Token);
        await started.Task.WaitAsync(TestHost.Timeout);
        await cts.CancelAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WaitAsync(TestHost.Timeout));
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        await cancelled.Task.WaitAsync(TestHost.Timeout);
        Assert.Empty(host.Logs.Errors);
    }

    [Fact]
    public async Task Buffer_hint_writes_leave_in_one_flush_with_the_next_plain_write()
    {
        // WatchService frames a burst with WriteFlags.BufferHint and flushes with the last write: Grpc.AspNetCore must
        // not flush the hinted ones. Counted on the response body writer itself.
        var flushes = new FlushCounter();
        await using var host = await TestHost.StartAsync(services => services.AddSingleton(new BurstWatch(burst: 10)), app =>
        {
            app.Use((context, next) =>
            {
                flushes.Install(context);
                return next(context);
            });
            app.MapEtcdGrpcService<BurstWatch>(new GrpcServerOptions());
        });
        using var call = new Watch.WatchClient(host.Channel).Watch();

        for (var round = 1; round <= 2; round++)
        {
            var before = flushes.Count;
            await call.RequestStream.WriteAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() });
            for (var i = 0; i < 10; i++)
            {
                Assert.True(await call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
                Assert.Equal(i, call.ResponseStream.Current.WatchId);
            }

            // The response headers take one flush of their own the first time.
            Assert.InRange(flushes.Count - before, 1, round == 1 ? 2 : 1);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
    }

    /// <summary>Answers each request with one progress response; counts requests.</summary>
    private sealed class EchoWatch(Action onRequest) : Watch.WatchBase
    {
        public override async Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream,
            ServerCallContext context)
        {
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                onRequest();
                await responseStream.WriteAsync(new WatchResponse(), context.CancellationToken);
            }
        }
    }

    /// <summary>Answers each request with a burst: all but the last written with BufferHint, as WatchService does.</summary>
    private sealed class BurstWatch(int burst) : Watch.WatchBase
    {
        public override async Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream,
            ServerCallContext context)
        {
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                for (var i = 0; i < burst; i++)
                {
                    responseStream.WriteOptions = i < burst - 1 ? new WriteOptions(WriteFlags.BufferHint) : null;
                    await responseStream.WriteAsync(new WatchResponse { WatchId = i }, context.CancellationToken);
                }
            }
        }
    }

    /// <summary>Counts FlushAsync calls on the response body of every request it is installed on.</summary>
    private sealed class FlushCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Install(HttpContext context)
        {
            var inner = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
            context.Features.Set<IHttpResponseBodyFeature>(new CountingBody(inner, new CountingWriter(inner.Writer, this)));
        }

        private sealed class CountingBody(IHttpResponseBodyFeature inner, PipeWriter writer) : IHttpResponseBodyFeature
        {
            public Stream Stream => inner.Stream;

            public PipeWriter Writer => writer;

            public void DisableBuffering() => inner.DisableBuffering();

            public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

            public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
                inner.SendFileAsync(path, offset, count, cancellationToken);

            public Task CompleteAsync() => inner.CompleteAsync();
        }

        private sealed class CountingWriter(PipeWriter inner, FlushCounter counter) : PipeWriter
        {
            public override void Advance(int bytes) => inner.Advance(bytes);

            public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

            public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

            public override void CancelPendingFlush() => inner.CancelPendingFlush();

            public override void Complete(Exception? exception = null) => inner.Complete(exception);

            public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
            {
                Interlocked.Increment(ref counter._count);
                return inner.FlushAsync(cancellationToken);
            }
        }
    }
}
