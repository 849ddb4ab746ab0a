using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using static Akka.Etcd.Actors.Tests.Store.Apply.ApplierFixture;
using SortOrder = Etcdserverpb.RangeRequest.Types.SortOrder;
using SortTarget = Etcdserverpb.RangeRequest.Types.SortTarget;

namespace Akka.Etcd.Actors.Tests.Store.Apply;

public sealed class RangeTests : IDisposable
{
    readonly ApplierFixture _f = new();

    public RangeTests()
    {
        // rev 2..7: b=1, a=3 (later re-put), c=2, foo=x, foo/bar=y ; a re-put at 7
        _f.Put("b", "1");       // 2
        _f.Put("a", "3");       // 3
        _f.Put("c", "2");       // 4
        _f.Put("foo", "x");     // 5
        _f.Put("foo/bar", "y"); // 6
        _f.Put("a", "0");       // 7 (a: create 3, mod 7, version 2)
    }

    public void Dispose() => _f.Dispose();

    RangeResponse Range(string key, string? end = null, Action<RangeRequest>? configure = null)
    {
        var request = new RangeRequest { Key = B(key), RangeEnd = end is null ? ByteString.Empty : B(end) };
        configure?.Invoke(request);
        return KvApplier.Range(_f.Store, request);
    }

    public static TheoryData<string, string?, string[]> KeyRanges => new()
    {
        { "a", null, ["a"] },                                   // single key
        { "zz", null, [] },                                     // missing single key
        { "a", "c", ["a", "b"] },                               // [a, c)
        { "foo", "fop", ["foo", "foo/bar"] },                   // prefix "foo"
        { "b", "\0", ["b", "c", "foo", "foo/bar"] },            // from key
        { "\0", "\0", ["a", "b", "c", "foo", "foo/bar"] },      // every key
        { "c", "a", [] },                                       // inverted interval
    };

    [Theory]
    [MemberData(nameof(KeyRanges))]
    public void Key_ranges(string key, string? end, string[] expected)
    {
        var response = Range(key, end);
        Assert.Equal(expected, Keys(response));
        Assert.Equal(expected.Length, response.Count);
        Assert.Equal(7, response.Header.Revision);
        Assert.False(response.More);
    }

    [Fact]
    public void Keys_are_ordered_as_unsigned_bytes()
    {
        KvApplier.Put(_f.Store, new PutRequest { Key = ByteString.CopyFrom(0xFF), Value = B("hi") }, _f.NextIndex());
        KvApplier.Put(_f.Store, new PutRequest { Key = ByteString.CopyFrom(0x7F), Value = B("lo") }, _f.NextIndex());
        var response = KvApplier.Range(_f.Store, new RangeRequest { Key = ByteString.CopyFrom(0x70), RangeEnd = ByteString.CopyFrom(0x00) });
        Assert.Equal(new byte[][] { [0x7F], [0xFF] }, response.Kvs.Select(kv => kv.Key.ToByteArray()));
    }

    [Fact]
    public void Limit_sets_more_and_count_is_the_full_count()
    {
        var response = Range("\0", "\0", r => r.Limit = 2);
        Assert.Equal(["a", "b"], Keys(response));
        Assert.True(response.More);
        Assert.Equal(5, response.Count);

        var exact = Range("\0", "\0", r => r.Limit = 5);
        Assert.False(exact.More);
        Assert.Equal(5, exact.Kvs.Count);
    }

    [Fact]
    public void Keys_only_and_count_only()
    {
        var keysOnly = Range("a", "c", r => r.KeysOnly = true);
        Assert.Equal(["a", "b"], Keys(keysOnly));
        Assert.All(keysOnly.Kvs, kv => Assert.True(kv.Value.IsEmpty));
        Assert.Equal(2, keysOnly.Kvs[0].Version);

        var countOnly = Range("\0", "\0", r => { r.CountOnly = true; r.Limit = 1; });
        Assert.Empty(countOnly.Kvs);
        Assert.Equal(5, countOnly.Count);
        Assert.False(countOnly.More);
    }

    public static TheoryData<SortOrder, SortTarget, string[]> Sorts => new()
    {
        { SortOrder.None, SortTarget.Key, ["a", "b", "c", "foo", "foo/bar"] },
        { SortOrder.Ascend, SortTarget.Key, ["a", "b", "c", "foo", "foo/bar"] },
        { SortOrder.Descend, SortTarget.Key, ["foo/bar", "foo", "c", "b", "a"] },
        // values: a=0 b=1 c=2 foo=x foo/bar=y
        { SortOrder.Ascend, SortTarget.Value, ["a", "b", "c", "foo", "foo/bar"] },
        { SortOrder.Descend, SortTarget.Value, ["foo/bar", "foo", "c", "b", "a"] },
        // create: b=2 a=3 c=4 foo=5 foo/bar=6
        { SortOrder.Ascend, SortTarget.Create, ["b", "a", "c", "foo", "foo/bar"] },
        { SortOrder.Descend, SortTarget.Create, ["foo/bar", "foo", "c", "a", "b"] },
        // mod: b=2 c=4 foo=5 foo/bar=6 a=7
        { SortOrder.Ascend, SortTarget.Mod, ["b", "c", "foo", "foo/bar", "a"] },
        { SortOrder.Descend, SortTarget.Mod, ["a", "foo/bar", "foo", "c", "b"] },
        // version: a=2, others 1 (ties keep key order)
        { SortOrder.Ascend, SortTarget.Version, ["b", "c", "foo", "foo/bar", "a"] },
        { SortOrder.Descend, SortTarget.Version, ["a", "foo/bar", "foo", "c", "b"] },
        // etcd: NONE with a non-KEY target means ASCEND
        { SortOrder.None, SortTarget.Mod, ["b", "c", "foo", "foo/bar", "a"] },
        { SortOrder.None, SortTarget.Create, ["b", "a", "c", "foo", "foo/bar"] },
    };

    [Theory]
    [MemberData(nameof(Sorts))]
    public void Sort_orders_and_targets(SortOrder order, SortTarget target, string[] expected)
    {
        var response = Range("\0", "\0", r => { r.SortOrder = order; r.SortTarget = target; });
        Assert.Equal(expected, Keys(response));
    }

    [Fact]
    public void Sort_then_limit_truncates_after_sorting()
    {
        var response = Range("\0", "\0", r => { r.SortOrder = SortOrder.Descend; r.SortTarget = SortTarget.Mod; r.Limit = 2; });
        Assert.Equal(["a", "foo/bar"], Keys(response));
        Assert.True(response.More);
        Assert.Equal(5, response.Count);
    }

    public static TheoryData<long, long, long, long, string[]> Filters => new()
    {
        // minMod, maxMod, minCreate, maxCreate
        { 5, 0, 0, 0, ["a", "foo", "foo/bar"] },
        { 0, 4, 0, 0, ["b", "c"] },
        { 0, 0, 4, 0, ["c", "foo", "foo/bar"] },
        { 0, 0, 0, 3, ["a", "b"] },
        { 4, 6, 0, 0, ["c", "foo", "foo/bar"] },
        { 0, 6, 3, 0, ["c", "foo", "foo/bar"] },
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public void Revision_filters_prune_after_count(long minMod, long maxMod, long minCreate, long maxCreate, string[] expected)
    {
        var response = Range("\0", "\0", r =>
        {
            r.MinModRevision = minMod;
            r.MaxModRevision = maxMod;
            r.MinCreateRevision = minCreate;
            r.MaxCreateRevision = maxCreate;
        });
        Assert.Equal(expected, Keys(response));
        Assert.Equal(5, response.Count); // etcd counts before filtering
    }

    [Fact]
    public void Filter_with_limit_sets_more_only_when_filtered_result_exceeds_limit()
    {
        var response = Range("\0", "\0", r => { r.MinModRevision = 5; r.Limit = 2; });
        Assert.Equal(["a", "foo"], Keys(response));
        Assert.True(response.More);
        var fits = Range("\0", "\0", r => { r.MinModRevision = 5; r.Limit = 3; });
        Assert.False(fits.More);
    }

    [Fact]
    public void Historical_reads_see_the_state_at_that_revision()
    {
        var at4 = Range("\0", "\0", r => r.Revision = 4);
        Assert.Equal(["a", "b", "c"], Keys(at4));
        Assert.Equal("3", at4.Kvs[0].Value.ToStringUtf8());
        Assert.Equal(7, at4.Header.Revision); // header carries the current revision
        Assert.Empty(Range("a", null, r => r.Revision = 2).Kvs);
        Assert.Equal(5, Range("\0", "\0", r => r.Revision = 7).Count);
    }

    [Fact]
    public void Future_revision_fails()
    {
        var error = Assert.Throws<EtcdException>(() => Range("a", null, r => r.Revision = 8));
        Assert.Equal(EtcdErrors.FutureRev.Message, error.Message);
        Assert.Equal(RpcStatusCode.OutOfRange, error.Code);
    }
}
