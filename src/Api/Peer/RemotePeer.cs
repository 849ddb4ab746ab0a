using System.Threading.Channels;
using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Api.Grpc;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Api.Peer;

/// <summary>
/// The sending side for one peer (etcd rafthttp's <c>peer</c> + <c>streamWriter</c> + <c>snapshotSender</c>): a bounded
/// FIFO queue drained by one loop that keeps a message stream open (reconnecting with backoff, trying the peer's URLs
/// in turn), and one task per MsgSnap streaming the db file in chunks. <see cref="Send"/> and the status getters are
/// thread-safe; the loop owns the stream.
/// </summary>
internal sealed class RemotePeer
{
    /// <summary>Most messages framed into one write of the stream (bounds the write buffer with MaxSizePerMsg-sized MsgApps).</summary>
    private const int MaxMessagesPerWrite = 64;

    private readonly PeerTransport _transport;
    private readonly Channel<Message> _queue;
    private readonly CancellationTokenSource _stop;
    private readonly object _snapshotsLock = new();
    private readonly HashSet<Task> _snapshotSends = [];
    private Uri[] _urls;
    private int _urlIndex;
    private CancellationTokenSource _urlsChanged = new();
    private long _activeSinceTicks;
    private Task _loop = Task.CompletedTask;
    private bool _stopped;

    public RemotePeer(PeerTransport transport, ulong id, Uri[] urls)
    {
        _transport = transport;
        Id = id;
        _urls = urls;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(transport.StopToken);
        _queue = Channel.CreateBounded<Message>(new BoundedChannelOptions(transport.Options.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public ulong Id { get; }

    /// <summary>When the current stream connected (UTC), or null while down.</summary>
    public DateTime? ActiveSince
    {
        get
        {
            var ticks = Interlocked.Read(ref _activeSinceTicks);
            return ticks == 0 ? null : new DateTime(ticks, DateTimeKind.Utc);
        }
    }

    private ILogger Logger => _transport.Logger;

    public void Start() => _loop = Task.Run(RunStreamAsync);

    /// <summary>Queues a message (never blocks); MsgSnap starts a snapshot send.</summary>
    public void Send(Message message)
    {
        if (message.Type == MessageType.MsgSnap)
        {
            StartSnapshotSend(message);
            return;
        }

        if (_queue.Writer.TryWrite(message))
            return;
        Logger.LogWarning("dropped internal Raft message {Type} to {Peer} since its sending buffer is full (active: {Active})",
            message.Type, PeerProtocol.FormatId(Id), ActiveSince is not null);
        PeerMetrics.SendFailed(Id);
        _transport.OnUnreachable(Id);
    }

    /// <summary>Switches to new URLs and cuts a pending backoff short so the stream reconnects there.</summary>
    public void UpdateUrls(Uri[] urls)
    {
        CancellationTokenSource previous;
        lock (_snapshotsLock)
        {
            if (_stopped)
                return;
            _urls = urls;
            _urlIndex = 0;
            previous = _urlsChanged;
            _urlsChanged = new CancellationTokenSource();
        }

        previous.Cancel();
        previous.Dispose();
    }

    /// <summary>Stops the stream loop and cancels snapshot sends; completes when all of them ended.</summary>
    public async Task StopAsync()
    {
        Task[] sends;
        lock (_snapshotsLock)
        {
            _stopped = true;
            sends = _snapshotSends.ToArray();
        }

        _stop.Cancel();
        _queue.Writer.TryComplete();
        await Task.WhenAll(sends.Append(_loop)).ConfigureAwait(false);
        Interlocked.Exchange(ref _activeSinceTicks, 0);
        _stop.Dispose();
        lock (_snapshotsLock)
            _urlsChanged.Dispose();
    }

    private Uri CurrentUrl()
    {
        lock (_snapshotsLock)
            return _urls[_urlIndex % _urls.Length];
    }

    private void AdvanceUrl(Uri failed)
    {
        lock (_snapshotsLock)
        {
            if (_urls[_urlIndex % _urls.Length] == failed)
                _urlIndex = (_urlIndex + 1) % _urls.Length;
        }
    }

    private CancellationToken UrlsChangedToken()
    {
        lock (_snapshotsLock)
            return _urlsChanged.Token;
    }

    private async Task RunStreamAsync()
    {
        var options = _transport.Options;
        var backoff = options.ReconnectMinBackoff;
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var url = CurrentUrl();
            var urlsChanged = UrlsChangedToken();
            var wasActive = false;
            try
            {
                wasActive = await RunConnectionAsync(url, urlsChanged, token).ConfigureAwait(false);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (EtcdException e) when (e.Code == RpcStatusCode.FailedPrecondition && e.Message == PeerProtocol.MemberRemoved)
            {
                Logger.LogError("peer {Peer} says this member has been removed from the cluster", PeerProtocol.FormatId(Id));
                _transport.OnRemovedFromCluster(Id);
            }
            catch (EtcdException e) when (e.Code == RpcStatusCode.FailedPrecondition)
            {
                Logger.LogError("peer {Peer} at {Url} rejected the stream: {Reason}", PeerProtocol.FormatId(Id), url, e.Message);
            }
            catch (Exception e)
            {
                Logger.LogDebug(e, "stream to peer {Peer} at {Url} failed", PeerProtocol.FormatId(Id), url);
            }

            if (Interlocked.Exchange(ref _activeSinceTicks, 0) != 0)
            {
                wasActive = true;
                Logger.LogWarning("lost the stream to peer {Peer}", PeerProtocol.FormatId(Id));
                _transport.OnActiveChanged(Id, false);
            }

            if (token.IsCancellationRequested)
                break;

            // Whatever is queued now was meant for a stream that is gone: drop it (Raft resends) and tell the owner.
            while (_queue.Reader.TryRead(out _))
            {
            }

            _transport.OnUnreachable(Id);
            if (!wasActive)
                AdvanceUrl(url);
            var delay = wasActive ? options.ReconnectMinBackoff : backoff;
            backoff = wasActive
                ? options.ReconnectMinBackoff
                : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.ReconnectMaxBackoff.Ticks));
            try
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(token, UrlsChangedToken());
                await Task.Delay(delay, wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping, or new URLs to try at once.
            }
        }
    }

    /// <summary>
    /// Opens one stream and pumps the queue into it until it fails or the URLs change; returns true when it had connected.
    /// Throws what ended it.
    /// </summary>
    private async Task<bool> RunConnectionAsync(Uri url, CancellationToken urlsChanged, CancellationToken stop)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop, urlsChanged);
        using var client = new GrpcClient(url, _transport.HttpClient, PeerProtocol.MaxReceiveMessageBytes);
        using var call = client.DuplexStreaming<Message, Message>(PeerProtocol.StreamPath, Message.Parser,
            _transport.RequestHeaders(Id), cancellationToken: connection.Token);

        // The opening link message gets the request HEADERS onto the wire: HttpClient holds them until the first body
        // write. It is not awaited before the answer: if the call fails, the write never starts.
        var dialled = System.Diagnostics.Stopwatch.GetTimestamp();
        var opened = call.RequestStream.WriteAsync(new Message(), connection.Token);
        var acknowledged = call.ResponseStream.MoveNext();
        try
        {
            if (!await acknowledged.WaitAsync(_transport.Options.DialTimeout, connection.Token).ConfigureAwait(false))
                throw new EtcdException(RpcStatusCode.Unavailable, "the peer closed the stream without acknowledging it");
            await opened.WaitAsync(_transport.Options.DialTimeout, connection.Token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Observe(acknowledged);
            Observe(opened);
            throw new EtcdException(RpcStatusCode.DeadlineExceeded, "the peer did not acknowledge the stream in time");
        }
        catch
        {
            Observe(acknowledged);
            Observe(opened);
            throw;
        }

        if (call.ResponseStream.Current.From != Id)
            throw new EtcdException(RpcStatusCode.FailedPrecondition, PeerProtocol.ToMismatch);
        // The opening message and its acknowledgement are one round trip to the peer (etcd's prober measures the same).
        PeerMetrics.RoundTrip(Id, System.Diagnostics.Stopwatch.GetElapsedTime(dialled));

        Interlocked.Exchange(ref _activeSinceTicks, DateTime.UtcNow.Ticks);
        Logger.LogInformation("stream to peer {Peer} at {Url} is active", PeerProtocol.FormatId(Id), url);
        _transport.OnActiveChanged(Id, true);

        // The server never writes again: the read ends when the stream does, which stops the writer below.
        var closed = WatchForCloseAsync(call.ResponseStream, connection);
        try
        {
            // Everything queued goes out in one write and one flush (etcd's streamWriter flushes when its queue is
            // empty, too): a leader's MsgApp to a peer and a follower's forwarded MsgProps travel in bursts.
            var reader = _queue.Reader;
            var batch = new List<Message>(MaxMessagesPerWrite);
            while (await reader.WaitToReadAsync(connection.Token).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxMessagesPerWrite && reader.TryRead(out var message))
                    batch.Add(message);
                await call.RequestStream.WriteBatchAsync(batch, connection.Token).ConfigureAwait(false);
                PeerMetrics.Sent(Id, batch.Sum(sent => (long)sent.CalculateSize()));
            }
        }
        catch (Exception) when (closed.IsCompleted)
        {
            await closed.ConfigureAwait(false);
            throw;
        }
        finally
        {
            connection.Cancel();
            call.Dispose();
            await closed.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return true;
    }

    private static async Task WatchForCloseAsync(IAsyncStreamReader<Message> responses, CancellationTokenSource connection)
    {
        try
        {
            while (await responses.MoveNext().ConfigureAwait(false))
            {
            }

            throw new EtcdException(RpcStatusCode.Unavailable, "the peer closed the stream");
        }
        finally
        {
            connection.Cancel();
        }
    }

    private void StartSnapshotSend(Message message)
    {
        lock (_snapshotsLock)
        {
            if (_stopped)
                return;
            var send = Task.Run(() => SendSnapshotAsync(message));
            _snapshotSends.Add(send);
            send.ContinueWith(t =>
            {
                lock (_snapshotsLock)
                    _snapshotSends.Remove(t);
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>Streams the MsgSnap and its db file; reports SnapshotStatus (and Unreachable on failure). Never throws.</summary>
    private async Task SendSnapshotAsync(Message message)
    {
        var token = _stop.Token;
        var index = message.Snapshot?.Metadata?.Index ?? 0;
        var sent = 0L;
        var succeeded = false;
        try
        {
            var open = _transport.OpenSnapshot
                ?? throw new InvalidOperationException("no OpenSnapshot callback is set to read the snapshot's db file");
            await using var data = open(message);
            using var client = new GrpcClient(CurrentUrl(), _transport.HttpClient, PeerProtocol.MaxReceiveMessageBytes);
            using var call = client.DuplexStreaming<Message, Message>(PeerProtocol.SnapshotPath, Message.Parser,
                _transport.RequestHeaders(Id), cancellationToken: token);

            // An early answer is a rejection (or a dead peer): cancel the call so pending writes fail at once.
            var answer = call.ResponseStream.MoveNext();
            Observe(answer);
            _ = answer.ContinueWith(static (t, c) => ((IDisposable)c!).Dispose(), call, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);

            try
            {
                await call.RequestStream.WriteAsync(message, token).ConfigureAwait(false);
                var buffer = new byte[_transport.Options.SnapshotChunkBytes];
                int read;
                while ((read = await data.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, token).ConfigureAwait(false)) > 0)
                {
                    var chunk = new Message
                    {
                        Type = MessageType.MsgSnap,
                        To = message.To,
                        From = message.From,
                        Index = (ulong)sent,
                        Context = ByteString.CopyFrom(buffer, 0, read),
                    };
                    await call.RequestStream.WriteAsync(chunk, token).ConfigureAwait(false);
                    sent += read;
                }

                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception) when (answer.IsFaulted)
            {
                await answer.ConfigureAwait(false); // the peer's reason beats the write error it caused
                throw;
            }

            if (!await answer.ConfigureAwait(false))
                throw new EtcdException(RpcStatusCode.Internal, "the peer ended the snapshot call without answering");
            if (await call.ResponseStream.MoveNext(token).ConfigureAwait(false))
                throw new EtcdException(RpcStatusCode.Internal, "the peer answered the snapshot call more than once");
            succeeded = true;
            Logger.LogInformation("sent database snapshot at index {Index} ({Bytes} bytes) to peer {Peer}",
                index, sent, PeerProtocol.FormatId(Id));
        }
        catch (EtcdException e) when (e.Code == RpcStatusCode.FailedPrecondition && e.Message == PeerProtocol.MemberRemoved)
        {
            Logger.LogError("peer {Peer} says this member has been removed from the cluster", PeerProtocol.FormatId(Id));
            _transport.OnRemovedFromCluster(Id);
        }
        catch (Exception e)
        {
            Logger.LogWarning(e, "failed to send database snapshot at index {Index} to peer {Peer} after {Bytes} bytes",
                index, PeerProtocol.FormatId(Id), sent);
        }

        if (!succeeded)
            _transport.OnUnreachable(Id);
        _transport.OnSnapshotStatus(Id, succeeded);
    }

    private static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
}
