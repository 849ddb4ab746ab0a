using System.Security.Cryptography;
using Akka.Actor;
using Akka.Etcd.Protos.Peer;
using Akka.Event;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// Sends one snapshot to one peer (a child of the <see cref="PeerActor"/>): opens the backend db the MsgSnap goes with
/// (on a pool thread: the member writes a consistent copy first), offers it with its size, then streams it in chunks of
/// <see cref="RaftTransportOptions.SnapshotChunkBytes"/> with at most <see cref="RaftTransportOptions.SnapshotWindowChunks"/>
/// unacknowledged, the last one carrying the SHA-256 of the file. Ends when the peer reports the snapshot installed,
/// refuses it, or makes no progress for <see cref="RaftTransportOptions.SnapshotStallTimeout"/>; tells its parent
/// <see cref="Finished"/> and stops. Chunks go out with the parent as sender, so the peer's acknowledgements reach the
/// parent, which checks them and forwards them here.
/// </summary>
public sealed class SnapshotSenderActor : ReceiveActor, IWithTimers
{
    private readonly Setup _setup;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer;
    private Stream? _data;
    private long _size;
    private long _sent;
    private long _acked;
    private bool _lastSent;
    private bool _finished;

    /// <summary>What one transfer needs.</summary>
    /// <param name="TransferId">Unique among this member's transfers; names the transfer on the wire.</param>
    /// <param name="ClusterId">The cluster ID.</param>
    /// <param name="From">This member's ID.</param>
    /// <param name="To">The peer's member ID.</param>
    /// <param name="Remote">The peer's peer actor.</param>
    /// <param name="Header">The MsgSnap (metadata; its backend db is the data).</param>
    /// <param name="Open">Opens the backend db to send; may block; the actor disposes the stream.</param>
    /// <param name="Options">Chunk size, window, stall timeout, size cap.</param>
    public sealed record Setup(ulong TransferId, ulong ClusterId, ulong From, ulong To, IActorRef Remote, Message Header,
        Func<Message, Stream> Open, RaftTransportOptions Options);

    /// <summary>Told to the parent when the transfer ended: installed on the peer, or failed.</summary>
    public sealed record Finished(ulong TransferId, bool Succeeded);

    /// <summary>
    /// Told to the parent after each remote message of the transfer (the offer, every chunk), for the peer's traffic
    /// counters: <paramref name="Bytes"/> is its Protobuf payload size in bytes.
    /// </summary>
    public sealed record ChunkSent(ulong TransferId, int Bytes);

    /// <summary>Props of the actor.</summary>
    public static Props Props(Setup setup) => Akka.Actor.Props.Create(() => new SnapshotSenderActor(setup));

    /// <summary>Creates the actor; use <see cref="Props(Setup)"/>.</summary>
    public SnapshotSenderActor(Setup setup)
    {
        _setup = setup;
        _buffer = new byte[setup.Options.SnapshotChunkBytes];
        Receive<Opened>(opened => OnOpened(opened.Data));
        Receive<Status.Failure>(failure => Fail($"could not open the backend db: {failure.Cause.Message}"));
        Receive<SnapshotAck>(OnAck);
        Receive<Stalled>(_ => Fail($"no progress for {_setup.Options.SnapshotStallTimeout}"));
    }

    /// <summary>The stall timer.</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    private ulong Index => _setup.Header.Snapshot?.Metadata?.Index ?? 0;

    /// <inheritdoc />
    protected override void PreStart()
    {
        var open = _setup.Open;
        var header = _setup.Header;
        Task.Run(() => open(header)).PipeTo(Self, success: data => new Opened(data));
        Timers.StartSingleTimer("stall", Stalled.Instance, _setup.Options.SnapshotStallTimeout);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _data?.Dispose();
        _hash.Dispose();
    }

    private void OnOpened(Stream data)
    {
        _data = data;
        _size = data.Length;
        if (_size > _setup.Options.MaxSnapshotBytes)
        {
            Fail($"the backend db of {_size} bytes exceeds the snapshot limit of {_setup.Options.MaxSnapshotBytes} bytes");
            return;
        }
        var offer = new SnapshotOffer
        {
            ClusterId = _setup.ClusterId,
            From = _setup.From,
            To = _setup.To,
            TransferId = _setup.TransferId,
            Message = _setup.Header,
            Size = (ulong)_size,
        };
        _setup.Remote.Tell(offer, Context.Parent);
        Context.Parent.Tell(new ChunkSent(_setup.TransferId, offer.CalculateSize()));
        SendMore();
    }

    private void SendMore()
    {
        var window = (long)_setup.Options.SnapshotWindowChunks * _buffer.Length;
        while (!_lastSent && _sent - _acked < window)
        {
            var read = _data!.ReadAtLeast(_buffer, (int)Math.Min(_buffer.Length, _size - _sent), throwOnEndOfStream: true);
            _hash.AppendData(_buffer, 0, read);
            var chunk = new SnapshotChunk
            {
                TransferId = _setup.TransferId,
                Offset = (ulong)_sent,
                Data = ByteString.CopyFrom(_buffer, 0, read),
            };
            _sent += read;
            if (_sent == _size)
            {
                chunk.Last = true;
                chunk.Sha256 = ByteString.CopyFrom(_hash.GetHashAndReset());
                _lastSent = true;
            }
            _setup.Remote.Tell(chunk, Context.Parent);
            Context.Parent.Tell(new ChunkSent(_setup.TransferId, chunk.CalculateSize()));
        }
    }

    private void OnAck(SnapshotAck ack)
    {
        if (_finished)
        {
            return;
        }
        if (ack.Error.Length > 0)
        {
            Fail($"the peer refused it: {ack.Error}");
            return;
        }
        Timers.StartSingleTimer("stall", Stalled.Instance, _setup.Options.SnapshotStallTimeout);
        if (ack.Done)
        {
            _finished = true;
            _log.Info("sent database snapshot at index {0} ({1} bytes) to peer {2}", Index, _size, PeerAddress.FormatId(_setup.To));
            Context.Parent.Tell(new Finished(_setup.TransferId, true));
            Context.Stop(Self);
            return;
        }
        _acked = Math.Max(_acked, (long)ack.Received);
        if (_data is not null)
        {
            SendMore();
        }
    }

    private void Fail(string why)
    {
        if (_finished)
        {
            return;
        }
        _finished = true;
        _log.Warning("failed to send database snapshot at index {0} to peer {1} after {2} bytes: {3}", Index,
            PeerAddress.FormatId(_setup.To), _sent, why);
        Context.Parent.Tell(new Finished(_setup.TransferId, false));
        Context.Stop(Self);
    }

    private sealed record Opened(Stream Data);

    private sealed record Stalled
    {
        public static readonly Stalled Instance = new();
    }
}
