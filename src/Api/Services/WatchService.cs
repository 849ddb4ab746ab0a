using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Watch;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Watch service (<c>etcdserverpb.Watch/Watch</c>, a bidirectional stream). Each stream gets its own
/// <see cref="WatcherActor"/> (<see cref="WatchHub.OpenStreamAsync"/>): requests from the client are handed to it, its
/// outbox is written to the client, a burst of responses framed back to back and flushed once. As in etcd, the stream
/// stays open after the client half-closes its side, until the client cancels (or the member stops); a stream opened
/// with <c>hasleader: true</c> on a member without a leader fails with <see cref="EtcdErrors.NoLeader"/>. Stateless and
/// thread-safe.
/// </summary>
public sealed class WatchService : Watch.WatchBase
{
    /// <summary>Most responses framed into a stream's response body before a flush (bounds the unflushed bytes).</summary>
    private const int MaxUnflushedResponses = 64;

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    private readonly MemberGateway _member;
    private readonly WatchHub _watches;
    private readonly Auth.CallerChecks _checks;

    /// <summary>Creates the service over a running member.</summary>
    public WatchService(MemberGateway member, Auth.CallerChecks checks)
    {
        _member = member;
        _watches = new WatchHub(member.Actors.WatchStreams, member.RequestTimeout);
        _checks = checks;
    }

    /// <summary>Watch.Watch: create, cancel and progress requests in; created, events, progress and cancel responses out.</summary>
    public override async Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream,
        ServerCallContext context)
    {
        var cancel = context.CancellationToken;
        if (LeaderRequirement.Unmet(context, _member))
            throw EtcdErrors.NoLeader;
        var watcher = await _watches.OpenStreamAsync(cancel).ConfigureAwait(false);
        var send = SendAsync(watcher, responseStream, cancel);
        try
        {
            // Waits while 16 requests of this stream are unanswered (etcd's ctrlStreamBufLen): HTTP/2 flow control
            // then holds the client back.
            while (await requestStream.MoveNext(cancel).ConfigureAwait(false))
            {
                var request = requestStream.Current;
                // etcd checks READ on a watch's range when it is created (with the stream's token), never afterwards.
                var denied = request.CreateRequest is { } create ? await _checks.WatchDenialAsync(create, cancel).ConfigureAwait(false) : null;
                await watcher.RequestAsync(request, cancel, denied).ConfigureAwait(false);
            }
            // Half-closed by the client: keep delivering until it cancels, as etcd does.
            await send.ConfigureAwait(false);
        }
        catch (Exception e) when (cancel.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client went away.
        }
        finally
        {
            watcher.Stop();
            try
            {
                await send.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
            {
                // The stream ended under the writer.
            }
        }
    }

    private static async Task SendAsync(WatchStream watcher, IServerStreamWriter<WatchResponse> responses, CancellationToken cancel)
    {
        // Many watchers of this stream answering one burst of revisions fill the outbox at once: frame their responses
        // back to back and flush at the end of the burst (or every MaxUnflushedResponses), as grpc-go batches its writes.
        // Grpc.AspNetCore writes a message without flushing while WriteOptions carries BufferHint.
        var outbox = watcher.Outbox;
        var unflushed = 0;
        while (await outbox.WaitToReadAsync(cancel).ConfigureAwait(false))
        {
            while (outbox.TryRead(out var response))
            {
                var flush = ++unflushed >= MaxUnflushedResponses || outbox.Count == 0;
                responses.WriteOptions = flush ? null : Buffered;
                await responses.WriteAsync(response, cancel).ConfigureAwait(false);
                if (flush)
                    unflushed = 0;
            }
        }
    }
}
