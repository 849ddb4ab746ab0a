using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc;
using Google.Protobuf;
using static Akka.Etcd.Storage.Tests.Mvcc.StoreFixture;

namespace Akka.Etcd.Storage.Tests.Mvcc;

/// <summary>The store's MVCC transactions (etcd's TxnRead / TxnWrite) without any request protocol.</summary>
public sealed class MvccTxnTests : IDisposable
{
    static readonly ByteString FromKey = ByteString.CopyFrom(0);

    readonly StoreFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void A_write_transaction_makes_one_revision_and_reads_its_own_writes()
    {
        _f.Put("a", "0"); // 2
        var seen = _f.Store.Write(_f.NextIndex(), 0, static (txn, _) =>
        {
            Assert.Equal((2L, 2L, false), (txn.BeginRevision, txn.Revision, txn.HasChanges));
            Assert.Equal(3, txn.Put(B("a"), B("1"), 0));
            Assert.Equal(3, txn.Put(B("b"), B("1"), 7));
            Assert.Equal((2L, 3L, true), (txn.BeginRevision, txn.Revision, txn.HasChanges));
            var a = txn.Get(B("a"))!;
            Assert.Equal(1, txn.DeleteRange(B("b"), ByteString.Empty));
            return (a.Value.ToStringUtf8(), a.Version, txn.Get(B("b")));
        });
        Assert.Equal(("1", 2L, null), seen);
        Assert.Equal(3, _f.Store.CurrentRevision);
        Assert.Equal(["a", "b", "b"], _f.Store.LastEvents.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.Equal(_f.Index, _f.Store.ConsistentIndex);
    }

    [Fact]
    public void A_transaction_that_writes_nothing_makes_no_revision()
    {
        _f.Put("a", "0");
        Assert.Equal(0, _f.Delete("missing"));
        Assert.Equal(0, _f.Delete("x", "y"));
        Assert.Equal(2, _f.Store.CurrentRevision);
        Assert.Empty(_f.Store.LastEvents);
        Assert.Equal(_f.Index, _f.Store.ConsistentIndex);
    }

    [Fact]
    public void Range_counts_every_visible_key_and_returns_up_to_the_limit()
    {
        foreach (var key in new[] { "a", "b", "c", "d" }) _f.Put(key, "v"); // 2..5
        _f.Delete("b"); // 6
        var read = _f.Store.Read();
        var limited = read.Range(B("a"), FromKey, new RangeOptions(Limit: 2));
        Assert.Equal((3L, 6L), (limited.Count, limited.Revision));
        Assert.Equal(["a", "c"], Keys(limited));
        var counted = read.Range(B("a"), B("c"), new RangeOptions(CountOnly: true));
        Assert.Equal(1, counted.Count);
        Assert.Empty(counted.KeyValues);
        var old = read.Range(B("a"), FromKey, new RangeOptions(Revision: 4));
        Assert.Equal(["a", "b", "c"], Keys(old));
        Assert.Equal(4, old.Revision);
        Assert.Equal(EtcdErrors.FutureRev.Message, Assert.Throws<EtcdException>(() => read.Range(B("a"), ByteString.Empty, new RangeOptions(Revision: 7))).Message);
        _f.Compact(5);
        Assert.Equal(EtcdErrors.Compacted.Message,
            Assert.Throws<EtcdException>(() => _f.Store.Read().Range(B("a"), ByteString.Empty, new RangeOptions(Revision: 4))).Message);
    }

    [Fact]
    public void Live_keys_come_from_the_index_and_read_their_rows_on_demand()
    {
        _f.Put("k1", "one", lease: 5); // 2
        _f.Put("k1", "uno", lease: 5); // 3
        _f.Put("k2", "two");            // 4
        _f.Delete("k2");                // 5
        var read = _f.Store.Read();
        Assert.True(read.TryGetLive(B("k1"), out var k1));
        Assert.Equal((2L, 3L, 2L), (k1.CreateRevision, k1.ModRevision, k1.Version));
        Assert.Equal("k1", System.Text.Encoding.UTF8.GetString(k1.Key));
        var row = read.Read(k1);
        Assert.Equal(("uno", 5L), (row.Value.ToStringUtf8(), row.Lease));
        Assert.False(read.TryGetLive(B("k2"), out _));
        Assert.Equal(["k1"], read.LiveKeys(B("k"), FromKey).Select(k => System.Text.Encoding.UTF8.GetString(k.Key)));
        Assert.Single(read.LiveKeys(B("k1"), ByteString.Empty));
    }

    [Fact]
    public void A_read_transaction_cannot_write()
    {
        var read = _f.Store.Read();
        Assert.Throws<InvalidOperationException>(() => read.Put(B("a"), B("1"), 0));
        Assert.Throws<InvalidOperationException>(() => read.DeleteRange(B("a"), ByteString.Empty));
        Assert.Equal(1, _f.Store.CurrentRevision);
    }

    [Fact]
    public void An_etcd_error_before_any_write_records_the_index_and_changes_nothing()
    {
        _f.Put("a", "1");
        var index = _f.NextIndex();
        Assert.Throws<EtcdException>(() => _f.Store.Write<int, int>(index, 0, static (_, _) => throw EtcdErrors.LeaseNotFound));
        Assert.False(_f.Store.IsFaulted);
        Assert.Equal(index, _f.Store.ConsistentIndex);
        Assert.Equal(2, _f.Store.CurrentRevision);
        Assert.Equal(3, _f.Put("b", "1"));
    }

    [Fact]
    public void An_error_after_a_write_faults_the_store()
    {
        Assert.Throws<EtcdException>(() => _f.Write(txn =>
        {
            txn.Put(B("a"), B("1"), 0);
            throw EtcdErrors.KeyNotFound;
        }));
        Assert.True(_f.Store.IsFaulted);
        Assert.Throws<InvalidOperationException>(() => _f.Store.Read());
    }
}
