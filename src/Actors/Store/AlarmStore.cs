using Akka.Etcd.Storage.Backend;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Store;

/// <summary>
/// The cluster's raised alarms (etcd 3.4's <c>etcdserver/api/v3alarm.AlarmStore</c>): a set of (member, alarm type)
/// pairs changed only by applied <c>AlarmRequest</c> entries, so every member holds the same set at the same index.
/// Persisted in the backend bucket <c>alarm</c> as etcd does (key: the marshaled <c>AlarmMember</c>, value: empty),
/// in the same batch as the consistent index, and reloaded at start-up and after a backend install.
/// Owned by the MvccStoreActor; not thread-safe.
/// </summary>
public sealed class AlarmStore
{
    /// <summary>The backend bucket holding raised alarms (etcd's <c>alarm</c> bucket).</summary>
    public const string Bucket = "alarm";

    private readonly SortedDictionary<(AlarmType Type, ulong MemberId), AlarmMember> _alarms = new();

    /// <summary>True when at least one alarm of <paramref name="type"/> is raised (by any member).</summary>
    public bool IsRaised(AlarmType type) => _alarms.Keys.Any(key => key.Type == type);

    /// <summary>True when no alarm at all is raised.</summary>
    public bool IsEmpty => _alarms.Count == 0;

    /// <summary>
    /// The raised alarms of <paramref name="type"/>, or every raised alarm for <see cref="AlarmType.None"/> (etcd's
    /// <c>Get(AlarmType_NONE)</c>); ordered by type, then member ID. Copies: the caller may keep or change them.
    /// </summary>
    public IReadOnlyList<AlarmMember> Get(AlarmType type) =>
        _alarms.Where(alarm => type == AlarmType.None || alarm.Key.Type == type).Select(alarm => alarm.Value.Clone()).ToList();

    /// <summary>Replaces the set with the alarms persisted in <paramref name="backend"/>.</summary>
    /// <exception cref="InvalidProtocolBufferException">A stored key is not a marshaled AlarmMember.</exception>
    public void Load(SqliteBackend backend)
    {
        _alarms.Clear();
        foreach (var (key, _) in backend.ReadBucket(Bucket))
        {
            var alarm = AlarmMember.Parser.ParseFrom(key);
            _alarms[(alarm.Alarm, alarm.MemberID)] = alarm;
        }
    }

    /// <summary>
    /// Raises <paramref name="type"/> for <paramref name="memberId"/> and writes it into the current backend batch
    /// (etcd's <c>Activate</c>). Returns the alarm, and whether it is new (false: it was already raised, nothing written).
    /// </summary>
    public (AlarmMember Alarm, bool Added) Activate(SqliteBackend backend, ulong memberId, AlarmType type)
    {
        if (_alarms.TryGetValue((type, memberId), out var existing))
        {
            return (existing.Clone(), false);
        }
        var alarm = new AlarmMember { MemberID = memberId, Alarm = type };
        _alarms[(type, memberId)] = alarm;
        backend.PutBucketValue(Bucket, alarm.ToByteArray(), Array.Empty<byte>());
        return (alarm.Clone(), true);
    }

    /// <summary>
    /// Clears <paramref name="type"/> of <paramref name="memberId"/> and deletes it in the current backend batch (etcd's
    /// <c>Deactivate</c>). Returns the cleared alarm, or null when it was not raised (nothing written).
    /// </summary>
    public AlarmMember? Deactivate(SqliteBackend backend, ulong memberId, AlarmType type)
    {
        if (!_alarms.Remove((type, memberId), out var alarm))
        {
            return null;
        }
        backend.DeleteBucketValue(Bucket, alarm.ToByteArray());
        return alarm;
    }
}
