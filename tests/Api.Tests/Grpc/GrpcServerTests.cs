using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using Akka.Etcd.Api.Grpc;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Api.Tests.Grpc;

public class GrpcServerTests
{
    private const string Range = "/etcdserverpb.KV/Range";
    private const string Watch = "/etcdserverpb.Watch/Watch";
    private const string Snapshot = "/etcdserverpb.Maintenance/Snapshot";

    private static RangeRequest Request(string key) => new() { Key = ByteString.CopyFromUtf8(key) };

    private static RangeResponse Echo(RangeRequest request) => new()
    {
        Count = request.Limit,
        Kvs = { new KeyValue { Key = request.Key, Value = request.RangeEnd } },
    };

    [Fact]
    public async Task Unary_round_trip_carries_request_metadata()
    {
        var registry = new GrpcServiceRegistry().AddUnary(Range, RangeRequest.Parser, (request, context) =>
        {
            Assert.Equal(Range, context.Method);
            Assert.Equal(DateTime.MaxValue, context.Deadline);
            Assert.StartsWith("127.0.0.1:", context.Peer);
            return ValueTask.FromResult(new RangeResponse
            {
                Kvs = { new KeyValue { Key = request.Key, Value = ByteString.CopyFromUtf8(context.GetRequestHeader("token") ?? "none") } },
            });
        });
        await using var host = await TestHost.StartAsync(registry);

        var response = await host.Client.UnaryAsync(Range, Request("foo"), RangeResponse.Parser,
            new Dictionary<string, string> { ["token"] = "secret" }).WaitAsync(TestHost.Timeout);

        Assert.Equal("foo", response.Kvs[0].Key.ToStringUtf8());
        Assert.Equal("secret", response.Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task Empty_messages_and_large_messages_spanning_many_http2_frames_round_trip()
    {
        var registry = new GrpcServiceRegistry().AddUnary(Range, RangeRequest.Parser, (r, _) => ValueTask.FromResult(Echo(r)));
        await using var host = await TestHost.StartAsync(registry);

        var empty = await host.Client.UnaryAsync(Range, new RangeRequest(), RangeResponse.Parser).WaitAsync(TestHost.Timeout);
        Assert.Equal(ByteString.Empty, empty.Kvs[0].Key);

        var big = new RangeRequest { Key = ByteString.CopyFrom(Enumerable.Range(0, 1_500_000).Select(i => (byte)i).ToArray()), Limit = 7 };
        var response = await host.Client.UnaryAsync(Range, big, RangeResponse.Parser).WaitAsync(TestHost.Timeout);
        Assert.Equal(big.Key, response.Kvs[0].Key);
        Assert.Equal(7, response.Count);
    }

    [Fact]
    public async Task Server_streaming_delivers_many_messages_in_order()
    {
        const int count = 2000;
        var registry = new GrpcServiceRegistry().AddServerStreaming<RangeRequest, RangeResponse>(Snapshot, RangeRequest.Parser,
            async (request, writer, context) =>
            {
                for (var i = 0; i < count; i++)
                    await writer.WriteAsync(new RangeResponse { Count = i, Kvs = { new KeyValue { Key = request.Key } } }, context.CancellationToken);
            });
        await using var host = await TestHost.StartAsync(registry);

        using var call = host.Client.ServerStreaming(Snapshot, Request("k"), RangeResponse.Parser);
        var received = 0;
        await foreach (var message in call.ResponseStream.ReadAllAsync().WithCancellation(CancellationToken.None))
        {
            Assert.Equal(received, message.Count);
            Assert.Equal("k", message.Kvs[0].Key.ToStringUtf8());
            received++;
        }

        Assert.Equal(count, received);
    }

    [Fact]
    public async Task Messages_split_across_reads_and_several_in_one_read_are_all_parsed()
    {
        var registry = new GrpcServiceRegistry().AddDuplexStreaming<RangeRequest, RangeResponse>(Watch, RangeRequest.Parser,
            async (requests, writer, context) =>
            {
                long total = 0, n = 0;
                await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
                {
                    total += request.Limit;
                    n++;
                }

                await writer.WriteAsync(new RangeResponse { Count = total, Kvs = { new KeyValue { Version = n } } });
            });
        await using var host = await TestHost.StartAsync(registry);

        // 50 frames written in odd-sized chunks (1..13 bytes), each chunk flushed as its own DATA frame.
        var body = new System.Buffers.ArrayBufferWriter<byte>();
        for (var i = 1; i <= 50; i++)
        {
            var m = new RangeRequest { Limit = i, Key = ByteString.CopyFromUtf8(new string('x', i * 3)) };
            GrpcFrame.WriteMessage(body, m, m.CalculateSize());
        }

        using var http = Akka.Etcd.Api.Grpc.GrpcClient.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.Endpoint, Watch))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ChunkedContent(body.WrittenMemory),
        };
        using var response = await http.SendAsync(request).WaitAsync(TestHost.Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        var reader = new GrpcMessageReader(PipeReader.Create(await response.Content.ReadAsStreamAsync()), int.MaxValue, null);
        var result = await reader.ReadAsync(RangeResponse.Parser, CancellationToken.None);

        Assert.NotNull(result);
        Assert.Equal(50 * 51 / 2, result.Count);
        Assert.Equal(50, result.Kvs[0].Version);
        Assert.Null(await reader.ReadAsync(RangeResponse.Parser, CancellationToken.None));
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
    }

    [Fact]
    public async Task Oversize_request_gets_resource_exhausted_with_grpc_go_text()
    {
        var registry = new GrpcServiceRegistry().AddUnary(Range, RangeRequest.Parser, (r, _) => ValueTask.FromResult(Echo(r)));
        await using var host = await TestHost.StartAsync(registry, o => o.Grpc.MaxReceiveMessageBytes = 1024);

        var request = Request(new string('v', 5000));
        var e = await Assert.ThrowsAsync<EtcdException>(() => host.Client.UnaryAsync(Range, request, RangeResponse.Parser).WaitAsync(TestHost.Timeout));

        Assert.Equal(RpcStatusCode.ResourceExhausted, e.Code);
        Assert.Equal($"grpc: received message larger than max ({request.CalculateSize()} vs. 1024)", e.Message);
        // The limit is per message: a small request on the same client still works.
        var ok = await host.Client.UnaryAsync(Range, Request("small"), RangeResponse.Parser).WaitAsync(TestHost.Timeout);
        Assert.Equal("small", ok.Kvs[0].Key.ToStringUtf8());
    }

    [Fact]
    public async Task Oversize_response_gets_resource_exhausted()
    {
        var registry = new GrpcServiceRegistry().AddUnary(Range, RangeRequest.Parser, (r, _) => ValueTask.FromResult(Echo(r)));
        await using var host = await TestHost.StartAsync(registry, o => o.Grpc.MaxSendMessageBytes = 100);

        var e = await Assert.ThrowsAsync<EtcdException>(() =>
            host.Client.UnaryAsync(Range, Request(new string('v', 500)), RangeResponse.Parser).WaitAsync(TestHost.Timeout));
        Assert.Equal(RpcStatusCode.ResourceExhausted, e.Code);
        Assert.StartsWith("grpc: trying to send message larger than max (", e.Message);
    }

    [Fact]
    public async Task Server_deadline_sends_deadline_exceeded_and_cancels_the_handler_token()
    {
        var handlerCancelled = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new GrpcServiceRegistry().AddUnary<RangeRequest, RangeResponse>(Range, RangeRequest.Parser, async (_, context) =>
        {
            Assert.True(context.Deadline < DateTime.UtcNow.AddSeconds(5));
            using var registration = context.CancellationToken.Register(() => handlerCancelled.TrySetResult(DateTime.UtcNow));
            await Task.Delay(System.Threading.Timeout.Infinite, context.CancellationToken);
            return new RangeResponse();
        });
        await using var host = await TestHost.StartAsync(registry);

        // grpc-timeout sent by hand (no local deadline), so the status must come from the server.
        var e = await Assert.ThrowsAsync<EtcdException>(() => host.Client.UnaryAsync(Range, Request("k"), RangeResponse.Parser,
            new Dictionary<string, string> { ["grpc-timeout"] = "100m" }).WaitAsync(TestHost.Timeout));

        Assert.Equal(RpcStatusCode.DeadlineExceeded, e.Code);
        Assert.Equal("context deadline exceeded", e.Message);
        await handlerCancelled.Task.WaitAsync(TestHost.Timeout);
    }

    [Fact]
    public async Task Deadline_status_is_sent_even_while_a_handler_ignores_its_token()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new GrpcServiceRegistry().AddUnary<RangeRequest, RangeResponse>(Range, RangeRequest.Parser, async (_, _) =>
        {
            await release.Task;
            handlerDone.SetResult();
            return new RangeResponse();
        });
        await using var host = await TestHost.StartAsync(registry);

        var e = await Assert.ThrowsAsync<EtcdException>(() => host.Client.UnaryAsync(Range, Request("k"), RangeResponse.Parser,
            new Dictionary<string, string> { ["grpc-timeout"] = "50m" }).WaitAsync(TestHost.Timeout));
        Assert.Equal(RpcStatusCode.DeadlineExceeded, e.Code);
        Assert.False(handlerDone.Task.IsCompleted);

        release.SetResult();
        await handlerDone.Task.WaitAsync(TestHost.Timeout);
    }

    [Fact]
    public async Task Client_deadline_is_sent_as_grpc_timeout_and_enforced()
    {
        var seenDeadline = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new GrpcServiceRegistry().AddUnary<RangeRequest, RangeResponse>(Range, RangeRequest.Parser, async (_, context) =>
        {
            seenDeadline.TrySetResult(context.Deadline);
            await Task.Delay(System.Threading.Timeout.Infinite, context.CancellationToken);
            return new RangeResponse();
        });
        await using var host = await TestHost.StartAsync(registry);

        var deadline = DateTime.UtcNow.AddMilliseconds(300);
        var e = await Assert.ThrowsAsync<EtcdException>(() =>
            host.Client.UnaryAsync(Range, Request("k"), RangeResponse.Parser, deadline: deadline).WaitAsync(TestHost.Timeout));

        Assert.Equal(RpcStatusCode.DeadlineExceeded, e.Code);
        var serverDeadline = await seenDeadline.Task.WaitAsync(TestHost.Timeout);
        Assert.InRange(serverDeadline, deadline.AddSeconds(-1), deadline.AddSeconds(1));
    }

    [Theory]
    [InlineData("/etcdserverpb.Lease/LeaseGrant", "unknown service etcdserverpb.Lease")]
    [InlineData("/etcdserverpb.KV/Compact", "unknown method Compact for service etcdserverpb.KV")]
    [InlineData("/nonsense", "malformed method name: \"/nonsense\"")]
    public async Task Unknown_method_is_unimplemented(string path, string message)
    {
        var registry = new GrpcServiceRegistry().AddUnary(Range, RangeRequest.Parser, (r, _) => ValueTask.FromResult(Echo(r)));
        await using var host = await TestHost.StartAsync(registry);

        var e = await Assert.ThrowsAsync<EtcdException>(() => host.Client.UnaryAsync(path, Request("k"), RangeResponse.Parser).WaitAsync(TestHost.Timeout));

        Assert.Equal(RpcStatusCode.Unimplemented, e.Code);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public async Task Etcd_exception_reaches_the_client_with_exact_code_and_message()
    {
        const string text = "etcdserver: 100% naïve\r\nmessage ✓";
        var registry = new GrpcServiceRegistry()
            .AddUnary<RangeRequest, RangeResponse>(Range, RangeRequest.Parser, (_, _) => throw EtcdErrors.Compacted)
            .AddUnary<RangeRequest, RangeResponse>("/etcdserverpb.KV/Put", RangeRequest.Parser,
                (_, _) => throw new EtcdException(RpcStatusCode.FailedPrecondition, text));
        await using var host = await TestHost.StartAsync(registry);

        var compacted = await Assert.ThrowsAsync<EtcdException>(() => host.Client.UnaryAsync(Range, Request("k"), RangeResponse.Parser).WaitAsync(TestHost.Timeout));
        Assert.Equal(RpcStatusCode.OutOfRange, compacted.Code);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", compacted.Message);

        var custom = await Assert.ThrowsAsync<EtcdException>(() =>
            host.Client.UnaryAsync("/etcdserverpb.KV/Put", Request("k"), RangeResponse.Parser).WaitAsync(TestHost.Timeout));
        Assert.Equal(RpcStatusCode.FailedPrecondition, custom.Code);
        Assert.Equal(text, custom.Message);
    }

    [Fact]
    public async Task Error_after_streamed_messages_arrives_in_the_trailers()
    {
        var registry = new GrpcServiceRegistry().AddServerStreaming<RangeRequest, RangeResponse>(Snapshot, RangeRequest.Parser,
            async (_, writer, _) =>
            {
                await writer.WriteAsync(new RangeResponse { Count = 1 });
                throw EtcdErrors.NoLeader;
            });
        await using var host = await TestHost.StartAsync(registry);

        using var call = host.Client.ServerStreaming(Snapshot, Request("k"), RangeResponse.Parser);
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
        Assert.Equal(1, call.ResponseStream.Current.Count);
        var e = await Assert.ThrowsAsync<EtcdException>(() => call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
        Assert.Equal(RpcStatusCode.Unavailable, e.Code);
        Assert.Equal("etcdserver: no leader", e.Message);
    }

    [Fact]
    public async Task Other_exceptions_become_unknown_and_are_logged()
    {
        var registry = new GrpcServiceRegistry().AddUnary<RangeRequest, RangeResponse>(Range, RangeRequest.Parser,
            (_, _) => throw new InvalidOperationException("boom"));
        await using var host = await TestHost.StartAsync(registry);

        var e = await Assert.ThrowsAsync<EtcdException>(() => host.Client.UnaryAsync(Range, Request("k"), RangeResponse.Parser).WaitAsync(TestHost.Timeout));

        Assert.Equal(RpcStatusCode.Unknown, e.Code);
        Assert.Equal("boom", e.Message);
        Assert.Contains(host.Logs.Errors, entry => entry.Exception is InvalidOperationException { Message: "boom" });
    }

    [Fact]
    public async Task Duplex_echo_with_concurrent_writers_on_both_sides()
    {
        const int perWriter = 200;
        var registry = new GrpcServiceRegistry().AddDuplexStreaming<RangeRequest, RangeResponse>(Watch, RangeRequest.Parser,
            async (requests, writer, context) =>
            {
                // A second source writes concurrently with the echo loop, as watch and progress notifications do.
                var ticks = Task.Run(async () =>
                {
                    for (var i = 0; i < perWriter; i++)
                        await writer.WriteAsync(new RangeResponse { Count = -1, Kvs = { new KeyValue { Version = i } } }, context.CancellationToken);
                });
                await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
                    await writer.WriteAsync(Echo(request), context.CancellationToken);
                await ticks;
            });
        await using var host = await TestHost.StartAsync(registry);

        using var call = host.Client.DuplexStreaming<RangeRequest, RangeResponse>(Watch, RangeResponse.Parser);
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < perWriter; i++)
                await call.RequestStream.WriteAsync(new RangeRequest { Key = ByteString.CopyFromUtf8($"w{w}-{i}"), Limit = w });
        })).ToArray();

        var echoed = new ConcurrentBag<string>();
        var ticks = 0;
        var reading = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext())
            {
                var m = call.ResponseStream.Current;
                if (m.Count == -1)
                    Assert.Equal(ticks++, m.Kvs[0].Version);
                else
                    echoed.Add(m.Kvs[0].Key.ToStringUtf8());
            }
        });

        await Task.WhenAll(writers).WaitAsync(TestHost.Timeout);
        await call.RequestStream.CompleteAsync();
        await reading.WaitAsync(TestHost.Timeout);

        Assert.Equal(perWriter, ticks);
        Assert.Equal(2 * perWriter, echoed.Count);
        for (var w = 0; w < 2; w++)
            for (var i = 0; i < perWriter; i++)
                Assert.Contains($"w{w}-{i}", echoed);
    }

    [Fact]
    public async Task Batched_writes_arrive_as_separate_messages_in_order_mixed_with_single_writes()
    {
        var registry = new GrpcServiceRegistry().AddDuplexStreaming<RangeRequest, RangeResponse>(Watch, RangeRequest.Parser,
            async (requests, writer, context) =>
            {
                await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
                    await writer.WriteAsync(Echo(request), context.CancellationToken);
            });
        await using var host = await TestHost.StartAsync(registry);

        using var call = host.Client.DuplexStreaming<RangeRequest, RangeResponse>(Watch, RangeResponse.Parser);
        var sent = new List<string>();
        RangeRequest Next(int size)
        {
            var key = $"k{sent.Count}-" + new string('v', size);
            sent.Add(key);
            return new RangeRequest { Key = ByteString.CopyFromUtf8(key) };
        }

        await call.RequestStream.WriteBatchAsync([Next(1), Next(300), Next(0)]).WaitAsync(TestHost.Timeout);
        await call.RequestStream.WriteAsync(Next(5)).WaitAsync(TestHost.Timeout);
        await call.RequestStream.WriteBatchAsync([]).WaitAsync(TestHost.Timeout); // nothing to send: no frame
        // A batch bigger than the retained buffer (1 MiB) and than one HTTP/2 frame.
        await call.RequestStream.WriteBatchAsync(Enumerable.Range(0, 5).Select(_ => Next(300_000)).ToList()).WaitAsync(TestHost.Timeout);
        await call.RequestStream.WriteBatchAsync([Next(2)]).WaitAsync(TestHost.Timeout);
        await call.RequestStream.CompleteAsync();

        var echoed = new List<string>();
        while (await call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout))
            echoed.Add(call.ResponseStream.Current.Kvs[0].Key.ToStringUtf8());
        Assert.Equal(sent, echoed);
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.RequestStream.WriteBatchAsync([Next(1)]));
    }

    [Fact]
    public async Task Unflushed_writes_go_out_with_the_next_flush_in_order()
    {
        var registry = new GrpcServiceRegistry().AddDuplexStreaming<RangeRequest, RangeResponse>(Watch, RangeRequest.Parser,
            async (requests, writer, context) =>
            {
                await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
                {
                    // Three deferred writes, then one that flushes the whole burst.
                    for (var i = 0; i < 4; i++)
                        await writer.WriteAsync(new RangeResponse { Count = request.Limit * 10 + i }, flush: i == 3, context.CancellationToken);
                }
            });
        await using var host = await TestHost.StartAsync(registry);

        using var call = host.Client.DuplexStreaming<RangeRequest, RangeResponse>(Watch, RangeResponse.Parser);
        for (var burst = 1; burst <= 2; burst++)
        {
            await call.RequestStream.WriteAsync(new RangeRequest { Limit = burst }).WaitAsync(TestHost.Timeout);
            for (var i = 0; i < 4; i++)
            {
                // Each burst arrives before the next request is sent: the flush of its last write carried all four.
                Assert.True(await call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
                Assert.Equal(burst * 10 + i, call.ResponseStream.Current.Count);
            }
        }
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
    }

    [Fact]
    public async Task Client_cancel_fires_the_handler_token()
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new GrpcServiceRegistry().AddDuplexStreaming<RangeRequest, RangeResponse>(Watch, RangeRequest.Parser,
            async (requests, _, context) =>
            {
                using var registration = context.CancellationToken.Register(() => cancelled.TrySetResult());
                Assert.True(await requests.MoveNext(context.CancellationToken));
                received.SetResult();
                await Task.Delay(System.Threading.Timeout.Infinite, context.CancellationToken);
            });
        await using var host = await TestHost.StartAsync(registry);

        var call = host.Client.DuplexStreaming<RangeRequest, RangeResponse>(Watch, RangeResponse.Parser);
        await call.RequestStream.WriteAsync(Request("k")).WaitAsync(TestHost.Timeout);
        await received.Task.WaitAsync(TestHost.Timeout);

        call.Dispose();

        await cancelled.Task.WaitAsync(TestHost.Timeout);
    }

    [Fact]
    public async Task Cancelling_the_callers_token_throws_operation_canceled_and_cancels_the_server()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new GrpcServiceRegistry().AddUnary<RangeRequest, RangeResponse>(Range, RangeRequest.Parser, async (_, context) =>
        {
            using var registration = context.CancellationToken.Register(() => cancelled.TrySetResult());
            started.SetResult();
            await Task.Delay(System.Threading.Timeout.Infinite, context.CancellationToken);
            return new RangeResponse();
        });
        await using var host = await TestHost.StartAsync(registry);

        using var cts = new CancellationTokenSource();
        var call = host.Client.UnaryAsync(Range, Request("k"), RangeResponse.Parser, cancellationToken: cts.Token);
        await started.Task.WaitAsync(TestHost.Timeout);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TestHost.Timeout));
        await cancelled.Task.WaitAsync(TestHost.Timeout);
    }

    [Fact]
    public async Task Connection_refused_is_unavailable()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}"));

        var e = await Assert.ThrowsAsync<EtcdException>(() => client.UnaryAsync(Range, Request("k"), RangeResponse.Parser).WaitAsync(TestHost.Timeout));
        Assert.Equal(RpcStatusCode.Unavailable, e.Code);
    }

    [Fact]
    public void Registry_rejects_bad_and_duplicate_paths()
    {
        var registry = new GrpcServiceRegistry().AddUnary(Range, RangeRequest.Parser, (r, _) => ValueTask.FromResult(Echo(r)));
        Assert.True(registry.Contains(Range));
        Assert.Throws<ArgumentException>(() => registry.AddUnary(Range, RangeRequest.Parser, (r, _) => ValueTask.FromResult(Echo(r))));
        Assert.Throws<ArgumentException>(() => registry.AddUnary("etcdserverpb.KV/Range", RangeRequest.Parser, (r, _) => ValueTask.FromResult(Echo(r))));
        Assert.Throws<ArgumentException>(() => registry.AddUnary("/a/b/c", RangeRequest.Parser, (r, _) => ValueTask.FromResult(Echo(r))));
    }

    /// <summary>Sends a fixed body in small chunks, flushing after each so each becomes its own DATA frame.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly ReadOnlyMemory<byte> body;

        public ChunkedContent(ReadOnlyMemory<byte> body)
        {
            this.body = body;
            Headers.TryAddWithoutValidation("Content-Type", "application/grpc+proto");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var offset = 0;
            var size = 1;
            while (offset < body.Length)
            {
                var length = Math.Min(size, body.Length - offset);
                await stream.WriteAsync(body.Slice(offset, length));
                await stream.FlushAsync();
                offset += length;
                size = size % 13 + 1;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
