using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Watch;

/// <summary>
/// Plays the gRPC side of one watch stream: hands requests to <see cref="WatchStream.RequestAsync"/> (taking an intake
/// permit, as the gRPC reader does) and reads responses from the outbox with a deadline.
/// </summary>
internal sealed class StreamProbe : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public StreamProbe(WatchStream stream)
    {
        Stream = stream;
    }

    public WatchStream Stream { get; }

    public WatchOutbox Outbox => Stream.Outbox;

    public async Task<WatchResponse> NextAsync()
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (true)
        {
            if (Outbox.TryRead(out var response))
            {
                return response;
            }
            if (!await Outbox.WaitToReadAsync(deadline.Token))
            {
                throw new InvalidOperationException("the stream ended");
            }
        }
    }

    /// <summary>
    /// Hands a request to the stream's actor; completes once it is told (at once while a permit is free, so requests
    /// sent one after the other reach the actor in that order, after every message the store sent it before).
    /// </summary>
    public async Task RequestAsync(WatchRequest request)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        await Stream.RequestAsync(request, deadline.Token);
    }

    public Task SendAsync(WatchCreateRequest create) => RequestAsync(new WatchRequest { CreateRequest = create });

    public Task CancelAsync(long watchId) => RequestAsync(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = watchId } });

    public Task RequestProgressAsync() => RequestAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() });

    /// <summary>Creates a watch and returns its id, asserting the created response.</summary>
    public async Task<long> WatchAsync(WatchCreateRequest create)
    {
        await SendAsync(create);
        var created = await NextAsync();
        Assert.True(created.Created);
        Assert.False(created.Canceled, created.CancelReason);
        Assert.Empty(created.Events);
        return created.WatchId;
    }

    public Task<long> WatchKeyAsync(string key, long startRevision = 0) =>
        WatchAsync(new WatchCreateRequest { Key = Bytes(key), StartRevision = startRevision });

    public Task<long> WatchPrefixAsync(string prefix, long startRevision = 0) =>
        WatchAsync(new WatchCreateRequest { Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix), StartRevision = startRevision });

    /// <summary>
    /// A barrier: asks for stream progress and asserts it is the next response, i.e. nothing else was pending
    /// (valid when every watcher is synced).
    /// </summary>
    public async Task ExpectQuietAsync(long revision)
    {
        await RequestProgressAsync();
        AssertProgress(await NextAsync(), revision);
    }

    /// <summary>Collects event keys per watch id until a progress barrier at <paramref name="revision"/>.</summary>
    public async Task<Dictionary<long, List<string>>> ReadUntilQuietAsync(long revision)
    {
        await RequestProgressAsync();
        var seen = new Dictionary<long, List<string>>();
        while (true)
        {
            var response = await NextAsync();
            if (response.WatchId == WatcherActor.InvalidWatchId)
            {
                AssertProgress(response, revision);
                return seen;
            }
            if (!seen.TryGetValue(response.WatchId, out var keys))
            {
                seen[response.WatchId] = keys = new List<string>();
            }
            keys.AddRange(response.Events.Select(e => e.Kv.Key.ToStringUtf8()));
        }
    }

    public static void AssertProgress(WatchResponse response, long revision)
    {
        Assert.Equal(WatcherActor.InvalidWatchId, response.WatchId);
        Assert.Empty(response.Events);
        Assert.False(response.Created);
        Assert.False(response.Canceled);
        Assert.Equal(revision, response.Header.Revision);
    }

    public static ByteString Bytes(string text) => ByteString.CopyFromUtf8(text);

    public static ByteString PrefixEnd(string prefix)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(prefix);
        bytes[^1]++;
        return ByteString.CopyFrom(bytes);
    }

    /// <summary>Stops the stream's actor (as the gRPC facade does when the client goes away).</summary>
    public ValueTask DisposeAsync()
    {
        Stream.Stop();
        return ValueTask.CompletedTask;
    }
}
