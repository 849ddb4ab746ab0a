using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using static Akka.Etcd.Actors.Tests.Store.Apply.ApplierFixture;
using CompareResult = Etcdserverpb.Compare.Types.CompareResult;
using CompareTarget = Etcdserverpb.Compare.Types.CompareTarget;

namespace Akka.Etcd.Actors.Tests.Store.Apply;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

public sealed class TxnTests : IDisposable
{
    readonly ApplierFixture _f = new(new() { LeaseExists = id => id == 5 });

    public TxnTests()
    {
        _f.Put("k", "v1");            // 2
        _f.Put("k", "v2", lease: 5);  // 3: k create 2, mod 3, version 2, lease 5
        _f.Put("other", "o");         // 4
    }

    public void Dispose() => _f.Dispose();

    static Compare Cmp(string key, CompareTarget target, CompareResult result, long operand = 0, string? value = null, string? rangeEnd = null)
    {
        var c = new Compare { Key = B(key), Target = target, Result = result };
        if (rangeEnd is not null) c.RangeEnd = B(rangeEnd);
        switch (target)
        {
            case CompareTarget.Version: c.Version = operand; break;
            case CompareTarget.Create: c.CreateRevision = operand; break;
            case CompareTarget.Mod: c.ModRevision = operand; break;
            case CompareTarget.Lease: c.Lease = operand; break;
            case CompareTarget.Value: c.Value = B(value ?? ""); break;
        }
        return c;
    }

    static RequestOp PutOp(string key, string value) => new() { RequestPut = new PutRequest { Key = B(key), Value = B(value) } };
    static RequestOp GetOp(string key, long revision = 0) => new() { RequestRange = new RangeRequest { Key = B(key), Revision = revision } };
    static RequestOp DelOp(string key) => new() { RequestDeleteRange = new DeleteRangeRequest { Key = B(key) } };

    bool Evaluate(Compare compare) =>
        KvApplier.Txn(_f.Store, new TxnRequest { Compare = { compare }, Success = { GetOp("k") } }).Succeeded;

    public static TheoryData<string, CompareTarget, CompareResult, long, string?, bool> Compares => new()
    {
        // existing key k: version 2, create 2, mod 3, lease 5, value "v2"
        { "k", CompareTarget.Version, CompareResult.Equal, 2, null, true },
        { "k", CompareTarget.Version, CompareResult.Greater, 1, null, true },
        { "k", CompareTarget.Version, CompareResult.Less, 2, null, false },
        { "k", CompareTarget.Version, CompareResult.NotEqual, 2, null, false },
        { "k", CompareTarget.Create, CompareResult.Equal, 2, null, true },
        { "k", CompareTarget.Create, CompareResult.Less, 3, null, true },
        { "k", CompareTarget.Mod, CompareResult.Equal, 3, null, true },
        { "k", CompareTarget.Mod, CompareResult.Greater, 3, null, false },
        { "k", CompareTarget.Lease, CompareResult.Equal, 5, null, true },
        { "k", CompareTarget.Lease, CompareResult.NotEqual, 0, null, true },
        { "k", CompareTarget.Value, CompareResult.Equal, 0, "v2", true },
        { "k", CompareTarget.Value, CompareResult.Greater, 0, "v1", true },
        { "k", CompareTarget.Value, CompareResult.Less, 0, "v3", true },
        { "k", CompareTarget.Value, CompareResult.NotEqual, 0, "v2", false },
        // missing key: compared as a zero KeyValue, except VALUE which always fails
        { "missing", CompareTarget.Version, CompareResult.Equal, 0, null, true },
        { "missing", CompareTarget.Create, CompareResult.Equal, 0, null, true },
        { "missing", CompareTarget.Mod, CompareResult.Less, 1, null, true },
        { "missing", CompareTarget.Lease, CompareResult.Equal, 0, null, true },
        { "missing", CompareTarget.Version, CompareResult.Greater, 0, null, false },
        { "missing", CompareTarget.Value, CompareResult.Equal, 0, "", false },
        { "missing", CompareTarget.Value, CompareResult.NotEqual, 0, "x", false },
    };

    [Theory]
    [MemberData(nameof(Compares))]
    public void Compare_targets_and_results(string key, CompareTarget target, CompareResult result, long operand, string? value, bool expected) =>
        Assert.Equal(expected, Evaluate(Cmp(key, target, result, operand, value)));

    [Fact]
    public void Compare_over_a_range_needs_every_key_to_match()
    {
        Assert.True(Evaluate(Cmp("k", CompareTarget.Version, CompareResult.Greater, 0, rangeEnd: "\0"))); // k, other
        Assert.False(Evaluate(Cmp("k", CompareTarget.Version, CompareResult.Equal, 2, rangeEnd: "\0")));  // other has 1
        Assert.True(Evaluate(Cmp("x", CompareTarget.Version, CompareResult.Equal, 0, rangeEnd: "y")));      // empty range
    }

    [Fact]
    public void Compare_with_mismatched_operand_compares_against_zero()
    {
        var c = new Compare { Key = B("k"), Target = CompareTarget.Version, Result = CompareResult.Greater, ModRevision = 100 };
        Assert.True(Evaluate(c));
    }

    [Fact]
    public void Success_branch_applies_all_ops_in_one_revision_with_sub_revisions()
    {
        var response = _f.Txn(new TxnRequest
        {
            Compare = { Cmp("k", CompareTarget.Mod, CompareResult.Equal, 3) },
            Success = { PutOp("a", "1"), PutOp("b", "2"), GetOp("a"), DelOp("other") },
            Failure = { PutOp("failed", "x") },
        });
        Assert.True(response.Succeeded);
        Assert.Equal(5, response.Header.Revision);
        Assert.Equal(5, _f.Store.CurrentRevision);
        Assert.Equal(5, response.Responses[0].ResponsePut.Header.Revision);
        var read = response.Responses[2].ResponseRange;
        Assert.Equal("1", read.Kvs[0].Value.ToStringUtf8()); // reads see earlier writes of the txn
        Assert.Equal(5, read.Header.Revision);
        Assert.Equal(1, response.Responses[3].ResponseDeleteRange.Deleted);
        Assert.Null(_f.Single("failed"));
        Assert.Equal(
            [(Event.Types.EventType.Put, "a"), (Event.Types.EventType.Put, "b"), (Event.Types.EventType.Delete, "other")],
            _f.Store.LastEvents.Select(e => (e.Type, e.Kv.Key.ToStringUtf8())));
        Assert.All(_f.Store.LastEvents, e => Assert.Equal(5, e.Kv.ModRevision));
        var history = _f.Store.EventsBetween(5, 5, [0], [0]).ToList();
        Assert.Equal(3, history.Count);
    }

    [Fact]
    public void Failure_branch_runs_when_a_compare_fails()
    {
        var response = _f.Txn(new TxnRequest
        {
            Compare = { Cmp("k", CompareTarget.Value, CompareResult.Equal, value: "nope") },
            Success = { PutOp("s", "1") },
            Failure = { PutOp("f", "1"), GetOp("k") },
        });
        Assert.False(response.Succeeded);
        Assert.Null(_f.Single("s"));
        Assert.Equal("1", _f.Single("f")!.Value.ToStringUtf8());
        Assert.Equal("v2", response.Responses[1].ResponseRange.Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public void Read_only_txn_creates_no_revision()
    {
        var response = _f.Txn(new TxnRequest { Success = { GetOp("k"), GetOp("k", revision: 2) } });
        Assert.Equal(4, response.Header.Revision);
        Assert.Equal(4, _f.Store.CurrentRevision);
        Assert.Equal("v1", response.Responses[1].ResponseRange.Kvs[0].Value.ToStringUtf8());
        Assert.Equal(_f.Index, _f.Store.ConsistentIndex);
        var outsideRaft = KvApplier.Txn(_f.Store, new TxnRequest { Success = { GetOp("other") } });
        Assert.Equal("o", outsideRaft.Responses[0].ResponseRange.Kvs[0].Value.ToStringUtf8());
        Assert.Throws<InvalidOperationException>(() => KvApplier.Txn(_f.Store, new TxnRequest { Success = { PutOp("a", "1") } }));
    }

    [Fact]
    public void Txn_deleting_nothing_creates_no_revision()
    {
        var response = _f.Txn(new TxnRequest { Success = { DelOp("nothing-here") } });
        Assert.Equal(4, response.Header.Revision);
        Assert.Equal(4, _f.Store.CurrentRevision);
        Assert.Equal(4, response.Responses[0].ResponseDeleteRange.Header.Revision);
    }

    [Fact]
    public void Nested_txn_follows_its_own_compares_in_the_same_revision()
    {
        var nested = new TxnRequest
        {
            Compare = { Cmp("other", CompareTarget.Version, CompareResult.Equal, 1) },
            Success = { PutOp("inner-ok", "1") },
            Failure = { PutOp("inner-bad", "1") },
        };
        var response = _f.Txn(new TxnRequest
        {
            Success = { PutOp("outer", "1"), new RequestOp { RequestTxn = nested }, GetOp("inner-ok") },
        });
        Assert.True(response.Succeeded);
        var inner = response.Responses[1].ResponseTxn;
        Assert.True(inner.Succeeded);
        Assert.Equal(0, inner.Header.Revision); // etcd leaves nested headers empty
        Assert.Equal(5, response.Header.Revision);
        Assert.Equal(5, _f.Single("inner-ok")!.ModRevision);
        Assert.Equal(5, _f.Single("outer")!.ModRevision);
        Assert.Null(_f.Single("inner-bad"));
        Assert.Single(response.Responses[2].ResponseRange.Kvs);
    }

    [Fact]
    public void Errors_in_a_chosen_branch_leave_the_store_unchanged()
    {
        var cases = new[]
        {
            (new TxnRequest { Success = { PutOp("a", "1"), new RequestOp { RequestPut = new PutRequest { Key = B("nokey"), IgnoreValue = true } } } }, EtcdErrors.KeyNotFound),
            (new TxnRequest { Success = { PutOp("a", "1"), new RequestOp { RequestPut = new PutRequest { Key = B("b"), Lease = 77 } } } }, EtcdErrors.LeaseNotFound),
            (new TxnRequest { Success = { PutOp("a", "1"), GetOp("k", revision: 99) } }, EtcdErrors.FutureRev),
            (new TxnRequest { Success = { PutOp("a", "1"), new RequestOp { RequestTxn = new TxnRequest { Success = { GetOp("k", revision: 99) } } } } }, EtcdErrors.FutureRev),
        };
        foreach (var (request, expected) in cases)
        {
            var error = Assert.Throws<EtcdException>(() => _f.Txn(request));
            Assert.Equal(expected.Message, error.Message);
            Assert.Equal(4, _f.Store.CurrentRevision);
            Assert.Null(_f.Single("a"));
            Assert.Empty(_f.Store.LastEvents);
        }
        // the failing op in the branch NOT taken is ignored
        var ok = _f.Txn(new TxnRequest
        {
            Compare = { Cmp("k", CompareTarget.Version, CompareResult.Equal, 2) },
            Success = { PutOp("a", "1") },
            Failure = { GetOp("k", revision: 99) },
        });
        Assert.True(ok.Succeeded);
    }

    [Fact]
    public void Txn_range_on_compacted_revision_fails()
    {
        _f.Compact(3);
        var error = Assert.Throws<EtcdException>(() => _f.Txn(new TxnRequest { Success = { PutOp("a", "1"), GetOp("k", revision: 2) } }));
        Assert.Equal(EtcdErrors.Compacted.Message, error.Message);
    }
}
