using Akka.Actor;
using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Protos.Peer;
using Akka.Event;
using Google.Protobuf;
using Raftpb;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// The member's peer-facing actor (<c>/user/peer</c>): the Raft transport between members over Akka.Remote (etcd's
/// rafthttp Transporter), the requests members ask each other, the snapshot pipeline, and the member's place in the
/// Akka cluster. It is the only user actor peers talk to (the only user path in <c>trusted-selection-paths</c>), and
/// everything that arrives is checked first: the cluster ID, the addressee, and that the sender's Akka address is the
/// peer URL of a current member whose ID the message names; anything else is dropped (a removed member is told it was
/// removed, as etcd answers errMemberRemoved).
/// </summary>
/// <remarks>
/// <para>
/// Raft messages: everything the RaftActor sends to one peer between two flushes goes out as one <c>RaftBatch</c>
/// (Akka.Remote carries about 120,000 small messages a second; batching makes that a bound on rounds, not on Raft
/// messages), at most <see cref="RaftTransportOptions.MaxBatchBytes"/> each. Batches carry a per-link sequence number
/// and the highest sequence received from the addressee, so acknowledgements ride on the Raft traffic back; a link
/// holds at most <see cref="RaftTransportOptions.WindowBatches"/> unacknowledged batches and drops (Raft resends, the
/// peer is reported unreachable) rather than queue without bound for a paused or partitioned peer. An idle link pings
/// every <see cref="RaftTransportOptions.PingInterval"/>; a peer silent for
/// <see cref="RaftTransportOptions.InactiveAfter"/> is inactive. None of this waits on the Akka cluster's view of the
/// peer: Raft traffic uses remoting alone.
/// </para>
/// <para>
/// Snapshots travel in chunks under Akka.Remote's frame limit with a window of acknowledged chunks, a size cap and a
/// SHA-256 (<see cref="SnapshotSenderActor"/>, <see cref="SnapshotReceiverActor"/>). Requests (<see cref="PeerProtocol.AskPeer"/>)
/// are answered by the receiving member's handler with its etcd errors intact.
/// </para>
/// <para>
/// Akka cluster: Raft membership is the authority. On attach the member joins the Akka cluster through the other
/// members' addresses (never forming a cluster on its own). Not joined after <c>akka.cluster.seed-node-timeout</c>, it
/// asks every peer (<c>AkkaClusterStatusRequest</c>) and joins one that is in a cluster; the Raft leader forms a cluster
/// once a round of asking (2 s) found none, and a member without peers forms one at once. The Raft leader downs a member
/// the Raft cluster removed; nothing else downs anyone.
/// </para>
/// </remarks>
public sealed partial class PeerActor : ReceiveActor, IWithTimers
{
    private readonly RaftTransportOptions _options;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRefProvider _provider;
    private readonly AkkaCluster? _cluster;
    private readonly Dictionary<ulong, Link> _links = new();
    private readonly Dictionary<Address, Link> _linksByAddress = new();
    private readonly HashSet<Address> _removedAddresses = new();
    private readonly Dictionary<ulong, PendingAsk> _asks = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<Address, TimeSpan> _lastRejectionLog = new();
    private IPeerMember? _member;
    private ulong _localId;
    private ulong _clusterId;
    private ulong _nextRequestId;
    private bool _flushQueued;
    private TimeSpan _joinRequestedAt;
    private bool _clusterJoined;
    private bool _formRequested;
    private TimeSpan? _probeSentAt;
    private bool _probeLeader;
    private static readonly TimeSpan ProbeRound = TimeSpan.FromSeconds(2);
    private bool _wasLeader;
    private TimeSpan _statsPublishedAt = TimeSpan.FromDays(-1);
    private static readonly TimeSpan StatsPublishInterval = TimeSpan.FromSeconds(1);

    /// <summary>Props of the actor; create it once per ActorSystem as <see cref="PeerAddress.PeerActorName"/> under <c>/user</c>.</summary>
    /// <exception cref="ArgumentException">The options are out of range (<see cref="RaftTransportOptions.Validate"/>).</exception>
    public static Props Props(RaftTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Akka.Actor.Props.Create(() => new PeerActor(options));
    }

    /// <summary>Creates the actor; use <see cref="Props(RaftTransportOptions)"/>. The ActorSystem must run remoting.</summary>
    public PeerActor(RaftTransportOptions options)
    {
        _options = FitFrame(options, Context.System.Settings.Config);
        _provider = ((ExtendedActorSystem)Context.System).Provider;
        _cluster = _provider is Akka.Cluster.ClusterActorRefProvider ? AkkaCluster.Get(Context.System) : null;
        _nextTransferId = (ulong)Random.Shared.NextInt64(1, long.MaxValue / 2);

        Receive<RaftBatch>(OnBatch);
        Receive<PeerProtocol.Send>(OnSend);
        Receive<Flush>(_ => FlushAll());
        Receive<Tick>(_ => OnTick());
        Receive<PeerProtocol.AddPeer>(add => AddLink(add.Id, add.PeerUrl));
        Receive<PeerProtocol.RemovePeer>(remove => RemoveLink(remove.Id));
        Receive<PeerProtocol.UpdatePeer>(update =>
        {
            if (_links.ContainsKey(update.Id))
            {
                DropLink(update.Id);
                AddLink(update.Id, update.PeerUrl);
            }
        });
        Receive<PeerProtocol.Attach>(OnAttach);
        Receive<PeerProtocol.Detach>(_ =>
        {
            DetachMember();
            Sender.Tell(PeerProtocol.Detached.Instance);
        });
        Receive<PeerProtocol.AskPeer>(OnAskPeer);
        Receive<PeerProtocol.AskPeerUrl>(OnAskPeerUrl);
        Receive<PeerProtocol.GetPeerStats>(_ => Sender.Tell(Stats()));
        Receive<PeerRequest>(OnRequest);
        Receive<PeerResponse>(OnResponse);
        Receive<Served>(OnServed);
        Receive<MemberRemovedNotice>(OnRemovedNotice);
        Receive<AkkaClusterStatusResponse>(OnClusterStatus);
        Receive<Status.Failure>(_ => { }); // an unanswered cluster status probe
        ReceiveSnapshots();
    }

    /// <summary>The actor's timers (the transport tick).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    private TimeSpan Now => Context.System.Scheduler.MonotonicClock;

    /// <inheritdoc />
    protected override void PreStart() =>
        Timers.StartPeriodicTimer("tick", Tick.Instance, _options.TickInterval);

    /// <inheritdoc />
    protected override void PostStop()
    {
        DetachMember();
        _stopping.Cancel();
        _stopping.Dispose();
    }

    /// <summary>
    /// Batches and snapshot chunks must fit in one Akka.Remote frame (<c>akka.remote.dot-netty.tcp.maximum-frame-size</c>),
    /// or remoting drops them: both are cut to half a frame at most, leaving room for the envelope.
    /// </summary>
    internal static RaftTransportOptions FitFrame(RaftTransportOptions options, Akka.Configuration.Config config)
    {
        var frame = config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size", null) ?? 128_000;
        var half = (int)Math.Max(16 * 1024, Math.Min(int.MaxValue, frame / 2));
        return options with
        {
            MaxBatchBytes = Math.Min(options.MaxBatchBytes, half),
            SnapshotChunkBytes = Math.Min(options.SnapshotChunkBytes, half),
        };
    }

    private void OnAttach(PeerProtocol.Attach attach)
    {
        _localId = attach.LocalId;
        _clusterId = attach.ClusterId;
        _member = attach.Member;
        _log.Info("peer transport of member {0} (cluster {1}) serving at {2}", PeerAddress.FormatId(_localId),
            PeerAddress.FormatId(_clusterId), _provider.DefaultAddress);
        JoinAkkaCluster();
        if (!Sender.Equals(Context.System.DeadLetters))
        {
            Sender.Tell(PeerProtocol.Attached.Instance);
        }
    }

    private void DetachMember()
    {
        if (_member is null)
        {
            return;
        }
        foreach (var ask in _asks.Values)
        {
            ask.ReplyTo.Tell(new Status.Failure(EtcdErrors.Stopped));
        }
        _asks.Clear();
        StopSnapshotTransfers();
        foreach (var link in _links.Values)
        {
            link.Outbox.Clear();
            link.InFlight.Clear();
        }
        _member = null;
    }

    // ---- Links: batching, acknowledgements, activity ----

    private void AddLink(ulong id, string peerUrl)
    {
        if (id == 0 || (_localId != 0 && id == _localId) || _links.ContainsKey(id))
        {
            return;
        }
        Address address;
        try
        {
            address = PeerAddress.FromPeerUrl(peerUrl, _provider.DefaultAddress.Protocol);
        }
        catch (ArgumentException ex)
        {
            _log.Error("cannot talk to member {0}: {1}", PeerAddress.FormatId(id), ex.Message);
            return;
        }
        if (address == _provider.DefaultAddress)
        {
            return;
        }
        var link = new Link(id, address, _provider.ResolveActorRef(PeerAddress.PeerActorPathAt(address)));
        _links[id] = link;
        _linksByAddress[address] = link;
        _removedAddresses.Remove(address);
        _log.Info("added peer {0} at {1}", PeerAddress.FormatId(id), address);
    }

    private void RemoveLink(ulong id)
    {
        if (!_links.TryGetValue(id, out var link))
        {
            return;
        }
        DropLink(id);
        _removedAddresses.Add(link.Address);
        _log.Info("removed peer {0} at {1}", PeerAddress.FormatId(id), link.Address);
        if (_member?.IsLeader == true)
        {
            DownInAkkaCluster(link.Address);
        }
    }

    private void DropLink(ulong id)
    {
        if (!_links.Remove(id, out var link))
        {
            return;
        }
        _linksByAddress.Remove(link.Address);
        foreach (var (requestId, ask) in _asks.Where(a => a.Value.Address == link.Address).ToList())
        {
            _asks.Remove(requestId);
            ask.ReplyTo.Tell(new Status.Failure(new EtcdException(RpcStatusCode.Unavailable, $"member {PeerAddress.FormatId(id)} is no longer a peer")));
        }
        StopTransfersTo(id);
    }

    private void OnSend(PeerProtocol.Send send)
    {
        if (_member is null)
        {
            return;
        }
        foreach (var message in send.Messages)
        {
            if (message is null || message.To == 0 || !_links.TryGetValue(message.To, out var link))
            {
                continue;
            }
            if (message.Type == MessageType.MsgSnap)
            {
                StartSnapshotSend(link, message);
                continue;
            }
            if (link.Outbox.Count >= _options.QueueCapacity)
            {
                Dropped(link, 1, "its sending buffer is full");
                continue;
            }
            link.Outbox.Add((message, EstimateSize(message)));
        }
        if (!_flushQueued)
        {
            // Behind whatever else is in the mailbox: every Send of the burst joins the same batch.
            _flushQueued = true;
            Self.Tell(Flush.Instance);
        }
    }

    private void FlushAll()
    {
        _flushQueued = false;
        if (_member is null)
        {
            return;
        }
        var now = Now;
        foreach (var link in _links.Values)
        {
            if (link.Outbox.Count > 0)
            {
                FlushLink(link, now);
            }
        }
    }

    private void FlushLink(Link link, TimeSpan now)
    {
        var outbox = link.Outbox;
        var i = 0;
        while (i < outbox.Count)
        {
            if (link.InFlight.Count >= _options.WindowBatches)
            {
                Dropped(link, outbox.Count - i, "its window of unacknowledged batches is full");
                break;
            }
            var batch = NewBatch(link, link.NextSeq++);
            long bytes = 0;
            do
            {
                batch.Messages.Add(outbox[i].Message);
                bytes += outbox[i].Bytes;
                i++;
            }
            while (i < outbox.Count && bytes + outbox[i].Bytes <= _options.MaxBatchBytes);
            link.InFlight.Enqueue((batch.Seq, now));
            SendBatch(link, batch, now);
        }
        outbox.Clear();
    }

    private void SendBatch(Link link, RaftBatch batch, TimeSpan now)
    {
        link.Remote.Tell(batch, Self);
        link.LastSent = now;
        link.BatchesSent++;
        link.MessagesSent += batch.Messages.Count;
        Sent(link, batch);
    }

    /// <summary>Counts one remote message (its Protobuf payload, without Akka's envelope) sent to the peer.</summary>
    private static void Sent(Link link, IMessage message) => Sent(link, message.CalculateSize());

    /// <summary>Counts one remote message of <paramref name="bytes"/> sent to the peer, here and in the Prometheus metrics
    /// (etcd's <c>etcd_network_peer_sent_bytes_total</c>, Akka's <c>akka_remote_*</c>).</summary>
    private static void Sent(Link link, long bytes)
    {
        link.RemoteMessagesSent++;
        link.BytesSent += bytes;
        PeerMetrics.Sent(link.Id, bytes);
        AkkaMetrics.RemoteSent(link.AddressText, bytes);
    }

    private static void Received(Link link, IMessage message)
    {
        var bytes = message.CalculateSize();
        link.RemoteMessagesReceived++;
        link.BytesReceived += bytes;
        PeerMetrics.Received(link.Id, bytes);
        AkkaMetrics.RemoteReceived(link.AddressText, bytes);
    }

    private void SentTo(Address address, IMessage message)
    {
        if (_linksByAddress.TryGetValue(address, out var link))
        {
            Sent(link, message);
        }
    }

    private void ReceivedFrom(Address address, IMessage message)
    {
        if (_linksByAddress.TryGetValue(address, out var link))
        {
            Received(link, message);
        }
    }

    private PeerProtocol.PeerStats Stats() => new(_member is null ? 0 : _localId, _provider.DefaultAddress.ToString(), DateTime.UtcNow, _links.Values
        .OrderBy(l => l.Id)
        .Select(l => new PeerProtocol.PeerLinkStats(l.Id, l.Address.ToString(), l.ActiveSince, l.BatchesSent, l.MessagesSent,
            l.BatchesReceived, l.MessagesReceived, l.MessagesDropped, l.InFlight.Count,
            l.RemoteMessagesSent, l.BytesSent, l.RemoteMessagesReceived, l.BytesReceived))
        .ToList());

    private RaftBatch NewBatch(Link link, ulong seq)
    {
        link.AckSent = link.ReceivedSeq;
        return new RaftBatch { ClusterId = _clusterId, From = _localId, To = link.Id, Seq = seq, Ack = link.ReceivedSeq };
    }

    private void Dropped(Link link, int count, string why)
    {
        link.MessagesDropped += count;
        PeerMetrics.SendFailed(link.Id, count); // etcd_network_peer_sent_failures_total counts each message not sent
        var now = Now;
        if (now - link.LastDropLog >= TimeSpan.FromSeconds(1))
        {
            link.LastDropLog = now;
            _log.Warning("dropped {0} internal Raft message(s) to peer {1} since {2} (active: {3})",
                count, PeerAddress.FormatId(link.Id), why, link.ActiveSince is not null);
        }
        _member?.OnUnreachable(link.Id);
    }

    private void OnBatch(RaftBatch batch)
    {
        if (!Accept(batch.ClusterId, batch.From, batch.To, out var link))
        {
            return;
        }
        link.BatchesReceived++;
        link.MessagesReceived += batch.Messages.Count;
        Received(link, batch);
        Acknowledged(link, batch.Ack);
        if (batch.Seq != 0)
        {
            // Akka.Remote keeps one sender's messages in order; a lower number means the peer restarted.
            link.ReceivedSeq = batch.Seq;
            if (link.ReceivedSeq - link.AckSent >= (ulong)Math.Max(1, _options.WindowBatches / 4))
            {
                SendAckOnly(link);
            }
        }
        foreach (var message in batch.Messages)
        {
            if (message.Type != MessageType.MsgSnap && message.To == _localId)
            {
                _member!.OnReceived(message);
            }
        }
    }

    private void Acknowledged(Link link, ulong ack)
    {
        if (ack == 0 || ack >= link.NextSeq)
        {
            return; // nothing, or an acknowledgement meant for an earlier incarnation of this member
        }
        while (link.InFlight.TryPeek(out var oldest) && oldest.Seq <= ack)
        {
            link.InFlight.Dequeue();
            if (oldest.Seq == ack)
            {
                // A batch (or ping) and its acknowledgement: etcd_network_peer_round_trip_time_seconds.
                PeerMetrics.RoundTrip(link.Id, Now - oldest.SentAt);
            }
        }
    }

    private void SendAckOnly(Link link) => SendBatch(link, NewBatch(link, 0), Now);

    /// <summary>
    /// The checks every inbound message passes: a member is attached, the cluster ID and addressee match, and the sender
    /// is the current member it claims to be, at that member's address. A removed member is told so.
    /// </summary>
    private bool Accept(ulong clusterId, ulong from, ulong to, out Link link)
    {
        link = null!;
        var address = Sender.Path.Address;
        if (_member is null)
        {
            return false;
        }
        if (clusterId != _clusterId)
        {
            LogRejection(address, "cluster ID mismatch", $"got {PeerAddress.FormatId(clusterId)}, local {PeerAddress.FormatId(_clusterId)}");
            return false;
        }
        if (to != _localId)
        {
            LogRejection(address, "to field mismatch", $"addressed to {PeerAddress.FormatId(to)}");
            return false;
        }
        if (!_links.TryGetValue(from, out link!) || link.Address != address)
        {
            if (from != 0 && _member.IsMemberRemoved(from))
            {
                if (ShouldLog(address))
                {
                    _log.Warning("rejected a message from removed member {0} at {1}", PeerAddress.FormatId(from), address);
                }
                Sender.Tell(new MemberRemovedNotice { ClusterId = _clusterId, From = _localId, MemberId = from }, Self);
            }
            else
            {
                LogRejection(address, "not a current member", $"claims member {PeerAddress.FormatId(from)}");
            }
            link = null!;
            return false;
        }
        Heard(link);
        return true;
    }

    private void LogRejection(Address address, string reason, string detail)
    {
        if (ShouldLog(address))
        {
            _log.Warning("rejected a peer message from {0}: {1} ({2})", address, reason, detail);
        }
    }

    private bool ShouldLog(Address address)
    {
        var now = Now;
        if (_lastRejectionLog.TryGetValue(address, out var last) && now - last < TimeSpan.FromSeconds(5))
        {
            return false;
        }
        _lastRejectionLog[address] = now;
        return true;
    }

    private void Heard(Link link)
    {
        link.LastHeard = Now;
        if (link.ActiveSince is null)
        {
            link.ActiveSince = DateTime.UtcNow;
            PeerMetrics.Connection(_localId, link.Id, active: true);
            _log.Info("peer {0} became active", PeerAddress.FormatId(link.Id));
            _member?.OnActivityChanged(link.Id, link.ActiveSince);
        }
    }

    private void OnTick()
    {
        if (_member is null)
        {
            return;
        }
        var now = Now;
        if (now - _statsPublishedAt >= StatsPublishInterval)
        {
            // For monitoring (the ClusterMonitorActor keeps the latest); local only, never sent to a peer.
            _statsPublishedAt = now;
            Context.System.EventStream.Publish(Stats());
        }
        foreach (var link in _links.Values)
        {
            if (link.ReceivedSeq != link.AckSent)
            {
                SendAckOnly(link);
            }
            if (now - link.LastSent >= _options.PingInterval && link.InFlight.Count < _options.WindowBatches)
            {
                var ping = NewBatch(link, link.NextSeq++);
                link.InFlight.Enqueue((ping.Seq, now));
                SendBatch(link, ping, now);
            }
            if (link.InFlight.TryPeek(out var oldest) && now - oldest.SentAt > _options.AckTimeout)
            {
                // Taken as lost (a pause, a partition, a restart): a fresh window; Raft resends what matters.
                link.InFlight.Clear();
                _member.OnUnreachable(link.Id);
            }
            if (link.ActiveSince is not null && now - link.LastHeard > _options.InactiveAfter)
            {
                link.ActiveSince = null;
                PeerMetrics.Connection(_localId, link.Id, active: false);
                _log.Warning("peer {0} became inactive (nothing heard for {1})", PeerAddress.FormatId(link.Id), _options.InactiveAfter);
                _member.OnActivityChanged(link.Id, null);
            }
        }
        ExpireAsks(now);
        TendAkkaCluster(now);
    }

    private static int EstimateSize(Message message)
    {
        var size = 48 + message.Context.Length;
        foreach (var entry in message.Entries)
        {
            size += 24 + entry.Data.Length;
        }
        return size;
    }

    // ---- Akka cluster ----

    private void JoinAkkaCluster()
    {
        if (_cluster is null)
        {
            return;
        }
        _joinRequestedAt = Now;
        var seeds = _links.Values.Select(l => l.Address).OrderBy(a => a.ToString(), StringComparer.Ordinal).ToList();
        if (seeds.Count == 0)
        {
            _log.Info("no other members: this member forms the Akka cluster");
            _formRequested = true;
            _cluster.Join(_cluster.SelfAddress);
            return;
        }
        // Never this member itself: only the Raft leader may form a cluster (TendAkkaCluster), so a member that restarts
        // while its peers are unreachable cannot found a second Akka cluster beside theirs.
        _cluster.JoinSeedNodes(seeds);
    }

    private void TendAkkaCluster(TimeSpan now)
    {
        if (_cluster is null || _member is null)
        {
            return;
        }
        var isLeader = _member.IsLeader;
        if (!_clusterJoined && !_formRequested)
        {
            _clusterJoined = IsInAkkaCluster();
            if (!_clusterJoined && now - _joinRequestedAt >= _cluster.Settings.SeedNodeTimeout)
            {
                ProbeAkkaCluster(now, isLeader);
            }
        }
        if (isLeader && !_wasLeader)
        {
            // A new leader finishes what the old one may not have: removed members leave the Akka cluster.
            foreach (var address in _removedAddresses)
            {
                DownInAkkaCluster(address);
            }
        }
        _wasLeader = isLeader;
    }

    /// <summary>
    /// Not in an Akka cluster after seed-node-timeout (Akka's seed process retries slowly): ask every peer whether it is
    /// in one, and join the first that is. The Raft leader forms a cluster once a round of asking found none, so two
    /// members whose Raft leadership changed hands while they started cannot each found one.
    /// </summary>
    private void ProbeAkkaCluster(TimeSpan now, bool isLeader)
    {
        if (_probeSentAt is { } sent && now - sent < ProbeRound)
        {
            return;
        }
        if (_probeSentAt is not null && isLeader && _probeLeader)
        {
            _log.Info("no Akka cluster among the reachable members: this member, the Raft leader, forms one");
            _formRequested = true;
            _cluster!.Join(_cluster.SelfAddress);
            return;
        }
        _probeSentAt = now;
        _probeLeader = isLeader;
        foreach (var link in _links.Values)
        {
            SendRequest(link.Remote, link.Address, new AkkaClusterStatusRequest(), ProbeRound, Self);
        }
    }

    private void OnClusterStatus(AkkaClusterStatusResponse status)
    {
        if (_cluster is null || _clusterJoined || _formRequested || !status.Joined)
        {
            return;
        }
        var address = Address.Parse(status.Address);
        if (!_linksByAddress.ContainsKey(address))
        {
            return;
        }
        _log.Info("joining the Akka cluster through {0}", address);
        _formRequested = true;
        _cluster.Join(address);
    }

    private bool IsInAkkaCluster()
    {
        var self = _cluster!.SelfAddress;
        return _cluster.State.Members.Any(m => m.Address == self);
    }

    private void DownInAkkaCluster(Address address)
    {
        if (_cluster is null)
        {
            return;
        }
        if (_cluster.State.Members.Any(m => m.Address == address && m.Status != Akka.Cluster.MemberStatus.Down
            && m.Status != Akka.Cluster.MemberStatus.Removed))
        {
            _log.Info("downing {0} in the Akka cluster: the Raft cluster removed it", address);
            _cluster.Down(address);
        }
    }

    // ---- Requests between members ----

    private void OnAskPeer(PeerProtocol.AskPeer ask)
    {
        if (_member is null)
        {
            Sender.Tell(new Status.Failure(EtcdErrors.Stopped));
            return;
        }
        if (!_links.TryGetValue(ask.MemberId, out var link))
        {
            Sender.Tell(new Status.Failure(new EtcdException(RpcStatusCode.Unavailable,
                $"member {PeerAddress.FormatId(ask.MemberId)} is not a peer")));
            return;
        }
        SendRequest(link.Remote, link.Address, ask.Request, ask.Timeout, Sender);
    }

    private void OnAskPeerUrl(PeerProtocol.AskPeerUrl ask)
    {
        Address address;
        try
        {
            address = PeerAddress.FromPeerUrl(ask.PeerUrl, _provider.DefaultAddress.Protocol);
        }
        catch (ArgumentException ex)
        {
            Sender.Tell(new Status.Failure(new EtcdException(RpcStatusCode.InvalidArgument, ex.Message)));
            return;
        }
        SendRequest(_provider.ResolveActorRef(PeerAddress.PeerActorPathAt(address)), address, ask.Request, ask.Timeout, Sender);
    }

    private void SendRequest(IActorRef remote, Address address, IMessage request, TimeSpan timeout, IActorRef replyTo)
    {
        if (!PeerRequestTypes.IsKnown(request))
        {
            replyTo.Tell(new Status.Failure(new ArgumentException($"{request.Descriptor.FullName} is not a peer request type")));
            return;
        }
        var id = ++_nextRequestId;
        _asks[id] = new PendingAsk(replyTo, address, Now + timeout);
        var peerRequest = new PeerRequest { ClusterId = _clusterId, From = _localId, Id = id, Body = PeerRequestTypes.Pack(request) };
        remote.Tell(peerRequest, Self);
        SentTo(address, peerRequest);
    }

    private void OnResponse(PeerResponse response)
    {
        if (!_asks.TryGetValue(response.Id, out var ask) || ask.Address != Sender.Path.Address)
        {
            return; // late (timed out), or not from the member asked
        }
        _asks.Remove(response.Id);
        ReceivedFrom(ask.Address, response);
        if (response.ErrorCode != 0 || response.Error.Length > 0)
        {
            ask.ReplyTo.Tell(new Status.Failure(new EtcdException((RpcStatusCode)response.ErrorCode, response.Error)));
            return;
        }
        try
        {
            if (PeerRequestTypes.TryUnpack(response.Body, out var body))
            {
                ask.ReplyTo.Tell(body!);
                return;
            }
        }
        catch (InvalidProtocolBufferException)
        {
        }
        ask.ReplyTo.Tell(new Status.Failure(new EtcdException(RpcStatusCode.Internal, "the peer answered with an unexpected message")));
    }

    private void ExpireAsks(TimeSpan now)
    {
        if (_asks.Count == 0)
        {
            return;
        }
        foreach (var (id, ask) in _asks.Where(a => a.Value.Deadline <= now).ToList())
        {
            _asks.Remove(id);
            ask.ReplyTo.Tell(new Status.Failure(new EtcdException(RpcStatusCode.DeadlineExceeded, "peer request timed out")));
        }
    }

    private void OnRequest(PeerRequest request)
    {
        var address = Sender.Path.Address;
        var replyTo = Sender;
        IMessage? body;
        try
        {
            PeerRequestTypes.TryUnpack(request.Body, out body);
        }
        catch (InvalidProtocolBufferException)
        {
            body = null;
        }
        if (body is null)
        {
            Answer(replyTo, request.Id, RpcStatusCode.Unimplemented, "unknown peer request type");
            return;
        }
        if (_member is null)
        {
            Answer(replyTo, request.Id, RpcStatusCode.Unavailable, "etcdserver: server stopped");
            return;
        }
        // A joining member does not know the cluster ID or its own ID yet: it may ask for the member list without them.
        var joining = request.ClusterId == 0 && request.From == 0 && body is Etcdserverpb.MemberListRequest;
        if (!joining && request.ClusterId != _clusterId)
        {
            LogRejection(address, "cluster ID mismatch", $"got {PeerAddress.FormatId(request.ClusterId)}, local {PeerAddress.FormatId(_clusterId)}");
            Answer(replyTo, request.Id, RpcStatusCode.FailedPrecondition, "cluster ID mismatch");
            return;
        }
        if (!_linksByAddress.TryGetValue(address, out var link) || (!joining && request.From != link.Id))
        {
            if (request.From != 0 && _member.IsMemberRemoved(request.From))
            {
                Sender.Tell(new MemberRemovedNotice { ClusterId = _clusterId, From = _localId, MemberId = request.From }, Self);
                Answer(replyTo, request.Id, RpcStatusCode.FailedPrecondition, "the member has been permanently removed from the cluster");
                return;
            }
            LogRejection(address, "not a current member", $"claims member {PeerAddress.FormatId(request.From)}");
            Answer(replyTo, request.Id, RpcStatusCode.FailedPrecondition,
                $"{address} is not the peer URL of a member of cluster {PeerAddress.FormatId(_clusterId)}");
            return;
        }
        Heard(link);
        Received(link, request);
        var id = request.Id;
        var from = link.Id;
        if (body is AkkaClusterStatusRequest)
        {
            var joined = _cluster is not null && IsInAkkaCluster();
            var status = new PeerResponse
            {
                Id = id,
                ClusterId = _clusterId,
                Body = PeerRequestTypes.Pack(new AkkaClusterStatusResponse { Joined = joined, Address = joined ? _provider.DefaultAddress.ToString() : "" }),
            };
            replyTo.Tell(status, Self);
            Sent(link, status);
            return;
        }
        _member.ServeAsync(from, body, _stopping.Token).PipeTo(Self,
            success: answer => new Served(replyTo, id, answer, null),
            failure: error => new Served(replyTo, id, null, error));
    }

    private void OnServed(Served served)
    {
        if (served.Answer is { } answer && PeerRequestTypes.IsKnown(answer))
        {
            var response = new PeerResponse { Id = served.Id, ClusterId = _clusterId, Body = PeerRequestTypes.Pack(answer) };
            served.ReplyTo.Tell(response, Self);
            SentTo(served.ReplyTo.Path.Address, response);
            return;
        }
        var error = served.Error is AggregateException { InnerException: { } inner } ? inner : served.Error;
        var (code, text) = error switch
        {
            EtcdException etcd => (etcd.Code, etcd.Message),
            TimeoutException timeout => (RpcStatusCode.DeadlineExceeded, timeout.Message),
            OperationCanceledException => (RpcStatusCode.Unavailable, EtcdErrors.Stopped.Message),
            { } other => (RpcStatusCode.Internal, other.Message),
            null => (RpcStatusCode.Internal, "the member answered with an unexpected message"),
        };
        Answer(served.ReplyTo, served.Id, code, text);
    }

    private void Answer(IActorRef replyTo, ulong id, RpcStatusCode code, string error)
    {
        var response = new PeerResponse { Id = id, ClusterId = _clusterId, ErrorCode = (int)code, Error = error };
        replyTo.Tell(response, Self);
        SentTo(replyTo.Path.Address, response);
    }

    private void OnRemovedNotice(MemberRemovedNotice notice)
    {
        if (_member is null || notice.ClusterId != _clusterId || notice.MemberId != _localId
            || !_linksByAddress.TryGetValue(Sender.Path.Address, out var link) || link.Id != notice.From)
        {
            return;
        }
        _log.Error("peer {0} says this member has been removed from the cluster", PeerAddress.FormatId(link.Id));
        _member.OnRemovedFromCluster(link.Id);
    }

    /// <summary>One peer as this member sees it.</summary>
    private sealed class Link(ulong id, Address address, IActorRef remote)
    {
        public ulong Id { get; } = id;
        public Address Address { get; } = address;
        /// <summary>The address as the metrics label it (formatted once, not per message).</summary>
        public string AddressText { get; } = address.ToString();
        public IActorRef Remote { get; } = remote;
        public List<(Message Message, int Bytes)> Outbox { get; } = new();
        public ulong NextSeq { get; set; } = 1;
        public Queue<(ulong Seq, TimeSpan SentAt)> InFlight { get; } = new();
        public ulong ReceivedSeq { get; set; }
        public ulong AckSent { get; set; }
        public TimeSpan LastHeard { get; set; }
        public TimeSpan LastSent { get; set; }
        public TimeSpan LastDropLog { get; set; } = TimeSpan.FromDays(-1);
        public DateTime? ActiveSince { get; set; }
        public long BatchesSent { get; set; }
        public long MessagesSent { get; set; }
        public long BatchesReceived { get; set; }
        public long MessagesReceived { get; set; }
        public long MessagesDropped { get; set; }
        public long RemoteMessagesSent { get; set; }
        public long BytesSent { get; set; }
        public long RemoteMessagesReceived { get; set; }
        public long BytesReceived { get; set; }
    }

    private sealed record PendingAsk(IActorRef ReplyTo, Address Address, TimeSpan Deadline);

    private sealed record Served(IActorRef ReplyTo, ulong Id, IMessage? Answer, Exception? Error);

    private sealed record Flush
    {
        public static readonly Flush Instance = new();
    }

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }
}
