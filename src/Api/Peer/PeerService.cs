using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Protos.Errors;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Api.Peer;

/// <summary>
/// The receiving side of the peer transport (etcd rafthttp's stream and snapshot handlers): serves
/// <see cref="PeerProtocol.StreamPath"/> and <see cref="PeerProtocol.SnapshotPath"/> for one <see cref="PeerTransport"/>.
/// Every call is checked first: UNAVAILABLE while the transport is not running, FAILED_PRECONDITION "cluster ID mismatch"
/// for another cluster's ID, "to field mismatch" for another member's ID, "the member has been permanently removed from
/// the cluster" for a removed sender, INVALID_ARGUMENT "invalid from" without a sender ID. Senders the transport does
/// not know are accepted (a member just added may connect before this one applied its addition). Rejections are
/// <see cref="EtcdException"/>s, sent as statuses by the error interceptor, which the sending <see cref="RemotePeer"/>
/// reads back. Thread-safe: one instance serves every call (map it with <see cref="EtcdPeerApi"/>).
/// </summary>
public sealed class PeerService : Protos.Peer.Peer.PeerBase
{
    private readonly PeerTransport _transport;

    /// <summary>Creates the service delivering into <paramref name="transport"/>'s Received and SnapshotReceived.</summary>
    public PeerService(PeerTransport transport) => _transport = transport;

    /// <summary>
    /// The message stream (<see cref="PeerProtocol.StreamPath"/>): acknowledges with one message (<c>From</c> = this member),
    /// then delivers every Raft message received, in order, to the transport's Received, until either side goes away.
    /// </summary>
    public override async Task Stream(IAsyncStreamReader<Message> requestStream, IServerStreamWriter<Message> responseStream, ServerCallContext context)
    {
        var requests = requestStream;
        var responses = responseStream;
        var from = Authorize(context);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _transport.StopToken);
        var token = call.Token;
        _transport.Logger.LogDebug("accepted the message stream from peer {Peer} ({Address})", PeerProtocol.FormatId(from), context.Peer);
        try
        {
            await responses.WriteAsync(new Message { From = _transport.LocalId, To = from }, token).ConfigureAwait(false);
            while (await requests.MoveNext(token).ConfigureAwait(false))
            {
                // A stream opened before its sender was removed stays up; end it with errMemberRemoved at the next
                // message, so the removed member learns it (and exits) even when it never got the ConfChange entry.
                if (_transport.IsMemberRemoved?.Invoke(from) == true)
                    throw new EtcdException(RpcStatusCode.FailedPrecondition, PeerProtocol.MemberRemoved);
                PeerMetrics.Received(from, requests.Current.CalculateSize());
                if (requests.Current.To != 0)
                    _transport.OnReceived(requests.Current);
            }
        }
        catch (Exception) when (_transport.StopToken.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new EtcdException(RpcStatusCode.Unavailable, PeerProtocol.NotRunning);
        }
    }

    /// <summary>
    /// The snapshot pipeline (<see cref="PeerProtocol.SnapshotPath"/>): writes the chunks into a fsynced file, has the
    /// transport's SnapshotReceived install it, and answers once with MsgSnapStatus; a failure is the call's status.
    /// </summary>
    public override async Task Snapshot(IAsyncStreamReader<Message> requestStream, IServerStreamWriter<Message> responseStream, ServerCallContext context)
    {
        var requests = requestStream;
        var responses = responseStream;
        var from = Authorize(context);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _transport.StopToken);
        try
        {
            await ReceiveSnapshotAsync(from, requests, call.Token).ConfigureAwait(false);
        }
        catch (Exception) when (_transport.StopToken.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new EtcdException(RpcStatusCode.Unavailable, PeerProtocol.NotRunning);
        }

        await responses.WriteAsync(new Message { Type = MessageType.MsgSnapStatus, From = _transport.LocalId, To = from },
            CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Reads the header and chunks into a fsynced file and has the owner install it; throws the rejection.</summary>
    private async Task ReceiveSnapshotAsync(ulong from, IAsyncStreamReader<Message> requests, CancellationToken token)
    {
        if (!await requests.MoveNext(token).ConfigureAwait(false))
            throw new EtcdException(RpcStatusCode.InvalidArgument, "the snapshot call carries no MsgSnap header");
        var header = requests.Current;
        if (header.Type != MessageType.MsgSnap)
            throw new EtcdException(RpcStatusCode.InvalidArgument, "wrong raft message type");
        var install = _transport.SnapshotReceived
            ?? throw new EtcdException(RpcStatusCode.Unavailable, "this member does not accept snapshots");

        var index = header.Snapshot?.Metadata?.Index ?? 0;
        var directory = _transport.Options.SnapshotDirectory;
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{index:x16}-{Guid.NewGuid():N}.snap.db.tmp");
        var handedOver = false;
        try
        {
            long received = 0;
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024,
                FileOptions.Asynchronous))
            {
                while (await requests.MoveNext(token).ConfigureAwait(false))
                {
                    var chunk = requests.Current;
                    if (chunk.Type != MessageType.MsgSnap || chunk.Index != (ulong)received)
                        throw new EtcdException(RpcStatusCode.InvalidArgument,
                            $"snapshot chunk out of order: expected offset {received}, got {chunk.Index}");
                    await file.WriteAsync(chunk.Context.Memory, token).ConfigureAwait(false);
                    received += chunk.Context.Length;
                }

                await file.FlushAsync(token).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            _transport.Logger.LogInformation("received database snapshot at index {Index} ({Bytes} bytes) from peer {Peer}",
                index, received, PeerProtocol.FormatId(from));
            try
            {
                await install(header, path).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _transport.Logger.LogError(e, "failed to install the database snapshot at index {Index} from peer {Peer}",
                    index, PeerProtocol.FormatId(from));
                throw new EtcdException(RpcStatusCode.Internal, $"error processing raft snapshot message: {e.Message}", e);
            }

            handedOver = true;
        }
        finally
        {
            if (!handedOver)
                TryDelete(path);
        }
    }

    /// <summary>Checks the call's metadata; returns the sender's member ID or throws the rejection.</summary>
    private ulong Authorize(ServerCallContext context)
    {
        if (!_transport.IsRunning)
            throw new EtcdException(RpcStatusCode.Unavailable, PeerProtocol.NotRunning);
        if (!PeerProtocol.TryParseId(Header(context, PeerProtocol.ClusterIdHeader), out var clusterId)
            || clusterId != _transport.Options.ClusterId)
        {
            _transport.Logger.LogWarning("rejected a peer request from {Peer}: cluster ID mismatch (got {Got}, local {Local})",
                context.Peer, Header(context, PeerProtocol.ClusterIdHeader), PeerProtocol.FormatId(_transport.Options.ClusterId));
            throw new EtcdException(RpcStatusCode.FailedPrecondition, PeerProtocol.ClusterIdMismatch);
        }

        if (!PeerProtocol.TryParseId(Header(context, PeerProtocol.FromHeader), out var from) || from == 0)
            throw new EtcdException(RpcStatusCode.InvalidArgument, "invalid from");
        var toHeader = Header(context, PeerProtocol.ToHeader);
        if (toHeader is not null && (!PeerProtocol.TryParseId(toHeader, out var to) || to != _transport.LocalId))
            throw new EtcdException(RpcStatusCode.FailedPrecondition, PeerProtocol.ToMismatch);
        if (_transport.IsMemberRemoved?.Invoke(from) == true)
            throw new EtcdException(RpcStatusCode.FailedPrecondition, PeerProtocol.MemberRemoved);
        return from;
    }

    private static string? Header(ServerCallContext context, string name) => context.RequestHeaders.GetValue(name);

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException e)
        {
            _transport.Logger.LogWarning(e, "could not delete the partial snapshot file {Path}", path);
        }
        catch (UnauthorizedAccessException e)
        {
            _transport.Logger.LogWarning(e, "could not delete the partial snapshot file {Path}", path);
        }
    }
}
