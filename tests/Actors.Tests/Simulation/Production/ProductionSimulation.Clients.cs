using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Tests.Linearizability;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>A lease a client granted (or tried to): its ID and TTL, and the instant the grant was invoked.</summary>
internal sealed record LeaseRecord(long Id, long TtlSeconds, long GrantInvoke)
{
    /// <summary>True once a grant answer came back (else unknown: it may exist).</summary>
    public bool Granted { get; set; }
}

internal sealed partial class ProductionSimulation
{
    /// <summary>Issues client <paramref name="client"/>'s next operation on a random live member, and the one after when it is answered or times out.</summary>
    private void NextOperation(int client, int done)
    {
        if (_clientsStopped)
        {
            return;
        }
        if (!_faultsOver && done >= _options.OperationsPerClient * 2)
        {
            // The rest of the client's operations are for after healing (the liveness check needs some).
            _loop.At(TimeSpan.FromMilliseconds(100), 0, () => NextOperation(client, done));
            return;
        }
        var member = RandomUpMember();
        if (member is null)
        {
            _loop.At(TimeSpan.FromMilliseconds(50), 0, () => NextOperation(client, done));
            return;
        }
        var random = _loop.Random;
        var key = $"{Prefix}{random.Next(_options.Keys)}";
        var id = ++_nextOperationId;
        var value = $"c{client}-{id}";
        var invoke = NextInstant();
        var finished = false;
        void Next(int pauseMs) => _loop.At(TimeSpan.FromMilliseconds(pauseMs), 0, () => NextOperation(client, done + 1));

        // Every operation ends exactly once: answered, or unknown at its timeout (a late answer is ignored).
        void Complete(KvOperation? operation)
        {
            if (finished)
            {
                return;
            }
            finished = true;
            if (operation is not null)
            {
                _history.Add(operation);
                if (_faultsOver && operation.Outcome == KvOutcome.Ok && operation.Kind != KvOperationKind.Get)
                {
                    _writesAfterHeal++;
                }
            }
            // A client whose call failed (unknown outcome) backs off before its next call, as etcd clients retry.
            Next(operation?.Outcome == KvOutcome.Unknown || operation is null ? 50 + random.Next(150) : 10 + random.Next(120));
        }

        void Track(KvOperation? unknown) =>
            _loop.At(TimeSpan.FromMilliseconds(_options.OperationTimeoutMs), 0, () => Complete(unknown));

        var grantable = _leases.Where(l => _loop.NowMs < 1500 + _options.FaultPhaseMs + _options.SettlePhaseMs).ToList();
        switch (random.Next(10))
        {
            case 0 or 1 or 2:
            {
                // Get, linearizable (or, planted, straight from the local store).
                var range = new RangeRequest { Key = ByteString.CopyFromUtf8(key) };
                object message = _options.Planted == PlantedFault.LocalReads
                    ? new StoreProtocol.RunQuery(0, new StoreProtocol.Range(range))
                    : new RaftProtocol.LinearizableRead(new StoreProtocol.Range(range));
                var target = _options.Planted == PlantedFault.LocalReads ? member.Refs!.Store : member.Refs!.Raft;
                Track(null);
                Send(member, target, message, answer =>
                {
                    if (answer is RangeResponse response)
                    {
                        var read = response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8();
                        Complete(KvOperation.Get(id, client, key, read, invoke, NextInstant()));
                    }
                    else
                    {
                        Complete(null);
                    }
                });
                break;
            }
            case 3 or 4:
            {
                // Put, with a lease one time in three when there is one.
                var lease = grantable.Count > 0 && random.Next(3) == 0 ? grantable[random.Next(grantable.Count)].Id : 0;
                var put = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), Lease = lease };
                var operation = KvOperation.Put(id, client, key, value, invoke, 0) with { Lease = lease };
                Track(operation.AsUnknown());
                Propose(member, new InternalRaftRequest { Put = put }, answer =>
                {
                    if (answer is PutResponse)
                    {
                        Complete(operation with { Response = NextInstant() });
                    }
                    else if (IsLeaseNotFound(answer))
                    {
                        Complete(null); // refused: it never took effect
                    }
                    else
                    {
                        Complete(operation.AsUnknown());
                    }
                });
                break;
            }
            case 5:
            {
                var operation = KvOperation.Delete(id, client, key, false, invoke, 0);
                Track(operation.AsUnknown());
                Propose(member, new InternalRaftRequest { DeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) } }, answer =>
                {
                    Complete(answer is DeleteRangeResponse response
                        ? operation with { Succeeded = response.Deleted > 0, Response = NextInstant() }
                        : operation.AsUnknown());
                });
                break;
            }
            case 6 or 7:
            {
                // Compare-and-set: a txn comparing the value (or that the key is absent) and putting on success.
                var known = _history.Where(o => o.Key == key && o.Value is not null).Select(o => o.Value).ToList();
                var expected = known.Count == 0 || random.Next(3) == 0 ? null : known[random.Next(Math.Max(0, known.Count - 3), known.Count)];
                var txn = new TxnRequest();
                txn.Compare.Add(expected is null
                    ? new Compare { Key = ByteString.CopyFromUtf8(key), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 }
                    : new Compare { Key = ByteString.CopyFromUtf8(key), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = ByteString.CopyFromUtf8(expected) });
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) } });
                var operation = KvOperation.Cas(id, client, key, expected, value, false, invoke, 0);
                Track(operation.AsUnknown());
                Propose(member, new InternalRaftRequest { Txn = txn }, answer =>
                {
                    Complete(answer is TxnResponse response
                        ? operation with { Succeeded = response.Succeeded, Response = NextInstant() }
                        : operation.AsUnknown());
                });
                break;
            }
            case 8:
            {
                // Lease grant: a client-chosen ID and a TTL of 2 to 4 s (etcd's minimum with these timings is 2 s).
                var lease = new LeaseRecord(0x5000 + id, 2 + random.Next(3), invoke);
                _leases.Add(lease);
                Track(null);
                Propose(member, new InternalRaftRequest { LeaseGrant = new LeaseGrantRequest { ID = lease.Id, TTL = lease.TtlSeconds } }, answer =>
                {
                    if (answer is LeaseGrantResponse)
                    {
                        lease.Granted = true;
                    }
                    Complete(null);
                });
                break;
            }
            default:
            {
                if (_leases.Count == 0)
                {
                    Complete(null);
                    break;
                }
                var lease = _leases[random.Next(_leases.Count)];
                var operation = new KvOperation(id, client, KvOperationKind.RevokeLease, "", null, null, invoke, 0, KvOutcome.Ok, null, false) { Lease = lease.Id };
                Track(operation.AsUnknown());
                Propose(member, new InternalRaftRequest { LeaseRevoke = new LeaseRevokeRequest { ID = lease.Id } }, answer =>
                {
                    if (answer is LeaseRevokeResponse)
                    {
                        Complete(operation with { Response = NextInstant() });
                    }
                    else if (IsLeaseNotFound(answer))
                    {
                        Complete(null); // already gone: no effect of its own
                    }
                    else
                    {
                        Complete(operation.AsUnknown());
                    }
                });
                break;
            }
        }
    }

    /// <summary>
    /// The history the checker gets: the KV operations, and each lease revoke (and an unknown expiry per lease, which
    /// may take effect any time after its grant) projected on every key written with the lease.
    /// </summary>
    internal static List<KvOperation> ProjectLeases(IReadOnlyList<KvOperation> history, IReadOnlyList<LeaseRecord> leases)
    {
        var result = history.Where(o => o.Kind != KvOperationKind.RevokeLease).ToList();
        var nextId = history.Count == 0 ? 1 : history.Max(o => o.Id) + 1;
        foreach (var lease in leases)
        {
            var written = history.Where(o => o.Kind == KvOperationKind.Put && o.Lease == lease.Id)
                .GroupBy(o => o.Key).ToDictionary(g => g.Key, g => (IReadOnlySet<string>)g.Select(o => o.Value!).ToHashSet(StringComparer.Ordinal));
            var revokes = history.Where(o => o.Kind == KvOperationKind.RevokeLease && o.Lease == lease.Id)
                .Append(new KvOperation(0, -1, KvOperationKind.RevokeLease, "", null, null, lease.GrantInvoke, 0, KvOutcome.Unknown, null, false) { Lease = lease.Id });
            foreach (var revoke in revokes)
            {
                foreach (var (key, values) in written)
                {
                    result.Add(revoke with { Id = nextId++, Key = key, RevokedValues = values });
                }
            }
        }
        return result;
    }
}
