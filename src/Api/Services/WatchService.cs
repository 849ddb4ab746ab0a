using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Watch;
using Akka.Etcd.Api.Grpc;
using Etcdserverpb;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Watch service (<c>etcdserverpb.Watch/Watch</c>, a bidirectional stream). Each stream gets its own
/// <see cref="WatcherActor"/>: requests from the client are handed to it, its outbox is written to the
/// client. As in etcd, the stream stays open after the client half-closes its side, until the client
/// cancels (or the member stops).
/// </summary>
public sealed class WatchService
{
    /// <summary>Most responses framed into a stream's response body before a flush (bounds the unflushed bytes).</summary>
    private const int MaxUnflushedResponses = 64;

    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public WatchService(EtcdServer server) => _server = server;

    /// <summary>Registers <c>/etcdserverpb.Watch/Watch</c>.</summary>
    public void Register(GrpcServiceRegistry registry) =>
        registry.AddDuplexStreaming<WatchRequest, WatchResponse>("/etcdserverpb.Watch/Watch", WatchRequest.Parser, WatchAsync);

    private async Task WatchAsync(IAsyncStreamReader<WatchRequest> requests, IServerStreamWriter<WatchResponse> responses, ServerCallContext context)
    {
        var cancel = context.CancellationToken;
        if (context.GetRequestHeader("hasleader") == "true" && !_server.Status.HasLeader)
        {
            throw Protos.Errors.EtcdErrors.NoLeader;
        }
        var watcher = await _server.Watches.OpenStreamAsync(cancel).ConfigureAwait(false);
        var send = SendAsync(watcher, responses, cancel);
        try
        {
            while (await requests.MoveNext(cancel).ConfigureAwait(false))
            {
                // Waits while 16 requests of this stream are unanswered (etcd's ctrlStreamBufLen): HTTP/2 flow control
                // then holds the client back.
                await watcher.RequestAsync(requests.Current, cancel).ConfigureAwait(false);
            }
            // Half-closed by the client: keep delivering until it cancels, as etcd does.
            await send.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
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
            catch (OperationCanceledException)
            {
                // stream ended
            }
        }
    }

    private static async Task SendAsync(WatchStream watcher, IServerStreamWriter<WatchResponse> responses, CancellationToken cancel)
    {
        // Many watchers of this stream answering one burst of revisions fill the outbox at once: frame their responses
        // back to back and flush at the end of the burst (or every MaxUnflushedResponses), as grpc-go batches its writes.
        var outbox = watcher.Outbox;
        var unflushed = 0;
        while (await outbox.WaitToReadAsync(cancel).ConfigureAwait(false))
        {
            while (outbox.TryRead(out var response))
            {
                var flush = ++unflushed >= MaxUnflushedResponses || outbox.Count == 0;
                await responses.WriteAsync(response, flush, cancel).ConfigureAwait(false);
                if (flush)
                    unflushed = 0;
            }
        }
    }
}
