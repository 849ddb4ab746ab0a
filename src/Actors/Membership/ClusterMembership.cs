using System.Buffers.Binary;
using Akka.Etcd.Storage.Backend;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Membership;

/// <summary>
/// The cluster's members as applied from the Raft log (etcd's membership.RaftCluster): voters and learners with
/// their peer URLs, names and client URLs, plus the IDs of removed members (which may never come back). Changed
/// only by the MvccStoreActor while applying ConfChange entries and member attribute updates, persisted in the
/// backend buckets <c>members</c> and <c>members_removed</c> in the same batch as the consistent index. Read from
/// any thread through <see cref="Members"/>, an immutable snapshot swapped on every change.
/// </summary>
public sealed class ClusterMembership
{
    /// <summary>Backend bucket of members: key = member ID (8 bytes big-endian), value = <see cref="Member"/> protobuf.</summary>
    public const string MembersBucket = "members";

    /// <summary>Backend bucket of removed member IDs (value empty).</summary>
    public const string RemovedBucket = "members_removed";

    private readonly Dictionary<ulong, Member> _members = new();
    private readonly HashSet<ulong> _removed = new();
    private volatile IReadOnlyList<Member> _snapshot = Array.Empty<Member>();
    private volatile string? _clusterVersion;

    /// <summary>Backend bucket of cluster-wide settings; key <c>clusterVersion</c> holds the cluster version.</summary>
    public const string ClusterBucket = "cluster";

    private static readonly byte[] ClusterVersionKey = System.Text.Encoding.UTF8.GetBytes("clusterVersion");

    /// <summary>The cluster version the leader recorded (e.g. <c>3.4.0</c>), or null before it did (any thread).</summary>
    public string? ClusterVersion => _clusterVersion;

    /// <summary>Records the cluster version (applied from a ClusterVersionSet entry).</summary>
    public void SetClusterVersion(SqliteBackend backend, string version)
    {
        _clusterVersion = version;
        backend.PutBucketValue(ClusterBucket, ClusterVersionKey, System.Text.Encoding.UTF8.GetBytes(version));
    }
    private volatile IReadOnlySet<ulong> _removedSnapshot = new HashSet<ulong>();

    /// <summary>Current members ordered by ID (an immutable snapshot; safe from any thread).</summary>
    public IReadOnlyList<Member> Members => _snapshot;

    /// <summary>The member with <paramref name="id"/>, or null (any thread).</summary>
    public Member? Find(ulong id)
    {
        foreach (var member in _snapshot)
        {
            if (member.ID == id)
            {
                return member;
            }
        }
        return null;
    }

    /// <summary>True when <paramref name="id"/> was removed from the cluster (any thread).</summary>
    public bool IsRemoved(ulong id) => _removedSnapshot.Contains(id);

    /// <summary>Replaces the in-memory membership with the persisted one; returns false when the backend holds none (a fresh data dir).</summary>
    public bool Load(SqliteBackend backend)
    {
        _members.Clear();
        _removed.Clear();
        foreach (var (_, value) in backend.ReadBucket(MembersBucket))
        {
            var member = Member.Parser.ParseFrom(value);
            _members[member.ID] = member;
        }
        foreach (var (key, _) in backend.ReadBucket(RemovedBucket))
        {
            _removed.Add(BinaryPrimitives.ReadUInt64BigEndian(key));
        }
        var version = backend.GetBucketValue(ClusterBucket, ClusterVersionKey);
        _clusterVersion = version is null ? null : System.Text.Encoding.UTF8.GetString(version);
        Publish();
        return _members.Count > 0;
    }

    /// <summary>Adds a member (ConfChangeAddNode / AddLearnerNode). A re-add of a learner as voter promotes it.</summary>
    public void AddOrPromote(SqliteBackend backend, Member member)
    {
        if (_members.TryGetValue(member.ID, out var existing))
        {
            existing = existing.Clone();
            existing.IsLearner = member.IsLearner && existing.IsLearner;
            Put(backend, existing);
        }
        else
        {
            Put(backend, member.Clone());
        }
        Publish();
    }

    /// <summary>Removes a member for good (ConfChangeRemoveNode).</summary>
    public void Remove(SqliteBackend backend, ulong id)
    {
        _members.Remove(id);
        _removed.Add(id);
        backend.DeleteBucketValue(MembersBucket, IdKey(id));
        backend.PutBucketValue(RemovedBucket, IdKey(id), Array.Empty<byte>());
        Publish();
    }

    /// <summary>Replaces a member's peer URLs (ConfChangeUpdateNode).</summary>
    public void UpdatePeerUrls(SqliteBackend backend, ulong id, IEnumerable<string> peerUrls)
    {
        if (!_members.TryGetValue(id, out var existing))
        {
            return;
        }
        existing = existing.Clone();
        existing.PeerURLs.Clear();
        existing.PeerURLs.AddRange(peerUrls);
        Put(backend, existing);
        Publish();
    }

    /// <summary>Sets a member's name and client URLs (the attributes it publishes after joining).</summary>
    public void SetAttributes(SqliteBackend backend, ulong id, Attributes attributes)
    {
        if (!_members.TryGetValue(id, out var existing))
        {
            return;
        }
        existing = existing.Clone();
        existing.Name = attributes.Name;
        existing.ClientURLs.Clear();
        existing.ClientURLs.AddRange(attributes.ClientUrls);
        Put(backend, existing);
        Publish();
    }

    private void Put(SqliteBackend backend, Member member)
    {
        _members[member.ID] = member;
        backend.PutBucketValue(MembersBucket, IdKey(member.ID), Google.Protobuf.MessageExtensions.ToByteArray(member));
    }

    private void Publish()
    {
        var members = _members.Values.OrderBy(m => m.ID).ToArray();
        _snapshot = members;
        _removedSnapshot = new HashSet<ulong>(_removed);
    }

    private static byte[] IdKey(ulong id)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, id);
        return key;
    }
}
