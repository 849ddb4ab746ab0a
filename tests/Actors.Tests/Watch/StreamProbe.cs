using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Watch;

/// <summary>Plays the client of one watch stream: sends requests, reads responses with a deadline.</summary>
internal sealed class StreamProbe : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public StreamProbe(WatchHub hub)
    {
        Actor = hub.OpenStream();
    }

    public WatcherActor Actor { get; }

    public async Task<WatchResponse> NextAsync()
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (true)
        {
            if (Actor.Outbox.TryRead(out var response))
            {
                return response;
            }
            if (!await Actor.Outbox.WaitToReadAsync(deadline.Token))
            {
                throw new InvalidOperationException("the stream ended");
            }
        }
    }

    public void Send(WatchCreateRequest create) => Actor.Request(new WatchRequest { CreateRequest = create });

    public void Cancel(long watchId) => Actor.Request(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = watchId } });

    public void RequestProgress() => Actor.Request(new WatchRequest { ProgressRequest = new WatchProgressRequest() });

    /// <summary>Creates a watch and returns its id, asserting the created response.</summary>
    public async Task<long> WatchAsync(WatchCreateRequest create)
    {
        Send(create);
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
        RequestProgress();
        var progress = await NextAsync();
        AssertProgress(progress, revision);
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

    public async ValueTask DisposeAsync() => await Actor.DisposeAsync();
}
