using System.Security.Cryptography;
using Akka.Actor;
using Akka.Etcd.Protos.Peer;
using Akka.Event;
using Raftpb;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// Receives one snapshot from one peer (a child of the <see cref="PeerActor"/>, which checked the offer): writes the
/// chunks in order into a new file in <see cref="RaftTransportOptions.SnapshotDirectory"/>, acknowledging each one (the
/// sender's flow control), refuses more bytes than offered, checks the SHA-256 the last chunk carries, fsyncs, and hands
/// the file to the member to install; then answers done (or the error) and stops. A transfer without a chunk for
/// <see cref="RaftTransportOptions.SnapshotStallTimeout"/> is abandoned. The file is deleted unless the member took it.
/// </summary>
public sealed class SnapshotReceiverActor : ReceiveActor, IWithTimers
{
    private readonly Setup _setup;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private FileStream? _file;
    private string _path = string.Empty;
    private long _received;
    private bool _handedOver;
    private bool _finished;

    /// <summary>What one transfer needs.</summary>
    /// <param name="Offer">The checked offer (MsgSnap, size, transfer ID).</param>
    /// <param name="ReplyTo">The sending member's peer actor (acknowledgements go there).</param>
    /// <param name="Install">Hands the MsgSnap and the complete db file to the member.</param>
    /// <param name="Options">Directory, stall timeout.</param>
    public sealed record Setup(SnapshotOffer Offer, IActorRef ReplyTo, Func<Message, string, Task> Install, RaftTransportOptions Options);

    /// <summary>Props of the actor.</summary>
    public static Props Props(Setup setup) => Akka.Actor.Props.Create(() => new SnapshotReceiverActor(setup));

    /// <summary>Creates the actor; use <see cref="Props(Setup)"/>.</summary>
    public SnapshotReceiverActor(Setup setup)
    {
        _setup = setup;
        Receive<SnapshotChunk>(OnChunk);
        Receive<Installed>(_ =>
        {
            _handedOver = true;
            Acknowledge(done: true);
            Context.Stop(Self);
        });
        Receive<Status.Failure>(failure =>
        {
            _log.Error(failure.Cause, "failed to install the database snapshot at index {0} from peer {1}", Index, From);
            Fail($"error processing raft snapshot message: {failure.Cause.Message}");
        });
        Receive<Stalled>(_ => Fail($"no chunk for {_setup.Options.SnapshotStallTimeout}"));
    }

    /// <summary>The stall timer.</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    private ulong Index => _setup.Offer.Message.Snapshot?.Metadata?.Index ?? 0;

    private string From => PeerAddress.FormatId(_setup.Offer.From);

    /// <inheritdoc />
    protected override void PreStart()
    {
        try
        {
            Directory.CreateDirectory(_setup.Options.SnapshotDirectory);
            _path = Path.Combine(_setup.Options.SnapshotDirectory, $"{Index:x16}-{Guid.NewGuid():N}.snap.db.tmp");
            _file = new FileStream(_path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        }
        catch (IOException ex)
        {
            Fail($"cannot write the snapshot: {ex.Message}");
            return;
        }
        Timers.StartSingleTimer("stall", Stalled.Instance, _setup.Options.SnapshotStallTimeout);
        Acknowledge(done: false);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _file?.Dispose();
        _hash.Dispose();
        if (!_handedOver && _path.Length > 0)
        {
            try
            {
                File.Delete(_path);
            }
            catch (IOException ex)
            {
                _log.Warning("could not delete the partial snapshot file {0}: {1}", _path, ex.Message);
            }
        }
    }

    private void OnChunk(SnapshotChunk chunk)
    {
        if (_finished || _file is null)
        {
            return;
        }
        var size = (long)_setup.Offer.Size;
        if (chunk.Offset != (ulong)_received)
        {
            Fail($"snapshot chunk out of order: expected offset {_received}, got {chunk.Offset}");
            return;
        }
        if (_received + chunk.Data.Length > size)
        {
            Fail($"the snapshot is larger than the {size} bytes offered");
            return;
        }
        try
        {
            _file.Write(chunk.Data.Span);
        }
        catch (IOException ex)
        {
            Fail($"cannot write the snapshot: {ex.Message}");
            return;
        }
        _hash.AppendData(chunk.Data.Span);
        _received += chunk.Data.Length;
        Timers.StartSingleTimer("stall", Stalled.Instance, _setup.Options.SnapshotStallTimeout);
        if (!chunk.Last)
        {
            Acknowledge(done: false);
            return;
        }
        if (_received != size)
        {
            Fail($"the snapshot ended after {_received} of {size} bytes");
            return;
        }
        if (!CryptographicOperations.FixedTimeEquals(_hash.GetHashAndReset(), chunk.Sha256.Span))
        {
            Fail("snapshot checksum mismatch");
            return;
        }
        try
        {
            _file.Flush(flushToDisk: true);
            _file.Dispose();
            _file = null;
        }
        catch (IOException ex)
        {
            Fail($"cannot write the snapshot: {ex.Message}");
            return;
        }
        _finished = true;
        Timers.Cancel("stall");
        _log.Info("received database snapshot at index {0} ({1} bytes) from peer {2}", Index, _received, From);
        _setup.Install(_setup.Offer.Message, _path).PipeTo(Self, success: () => Installed.Instance);
    }

    private void Acknowledge(bool done) =>
        _setup.ReplyTo.Tell(new SnapshotAck { TransferId = _setup.Offer.TransferId, Received = (ulong)_received, Done = done }, Context.Parent);

    private void Fail(string why)
    {
        _finished = true;
        _log.Warning("failed to receive database snapshot at index {0} from peer {1}: {2}", Index, From, why);
        _setup.ReplyTo.Tell(new SnapshotAck { TransferId = _setup.Offer.TransferId, Received = (ulong)_received, Error = why }, Context.Parent);
        Context.Stop(Self);
    }

    private sealed record Installed
    {
        public static readonly Installed Instance = new();
    }

    private sealed record Stalled
    {
        public static readonly Stalled Instance = new();
    }
}
