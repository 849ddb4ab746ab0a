using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Watch;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

public class WatcherIndexTests
{
    [Theory]
    [InlineData("", "", WatchRangeKind.SingleKey)]
    [InlineData("a", "", WatchRangeKind.SingleKey)]
    [InlineData("a", "\0", WatchRangeKind.FromKey)]
    [InlineData("a", "b", WatchRangeKind.Range)]
    public void Ranges_are_normalised_like_etcd(string key, string end, WatchRangeKind kind)
    {
        Assert.True(WatchRange.TryCreate(Bytes(key), Bytes(end), out var range));
        Assert.Equal(kind, range.Kind);
        Assert.False(range.Key.IsEmpty); // an empty key is "\0", the smallest key
    }

    [Theory]
    [InlineData("b", "a")]
    [InlineData("a", "a")]
    public void A_range_end_not_above_the_key_is_empty(string key, string end) =>
        Assert.False(WatchRange.TryCreate(Bytes(key), Bytes(end), out _));

    [Fact]
    public void Lookups_find_exact_keys_and_every_covering_range_until_removed()
    {
        var index = new WatcherIndex();
        var exact = Make(1, "b", "");
        var exactTwin = Make(2, "b", "");
        var prefix = Make(3, "b", "c");
        var prefixTwin = Make(4, "b", "c");
        var fromKey = Make(5, "a", "\0");
        var narrow = Make(6, "ba", "bb");
        foreach (var w in new[] { exact, exactTwin, prefix, prefixTwin, fromKey, narrow })
        {
            index.Add(w);
        }

        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, Ids(index, "b"));
        Assert.Equal(new long[] { 3, 4, 5, 6 }, Ids(index, "baz"));
        Assert.Equal(new long[] { 5 }, Ids(index, "c"));
        Assert.Empty(Ids(index, "0"));

        Assert.True(index.Remove(prefix));
        Assert.True(index.Remove(exact));
        Assert.False(index.Remove(exact));
        Assert.Equal(new long[] { 2, 4, 5 }, Ids(index, "b"));
        Assert.Equal(4, index.Count);
    }

    [Fact]
    public void Fragments_split_like_etcd_and_keep_every_event_in_order()
    {
        var response = new WatchResponse { WatchId = 7, Header = new ResponseHeader { Revision = 9 } };
        for (var i = 0; i < 20; i++)
        {
            response.Events.Add(new Event { Kv = new KeyValue { Key = Bytes($"k{i}"), Value = ByteString.CopyFrom(new byte[100]), ModRevision = 9 } });
        }
        response.Events.Add(new Event { Kv = new KeyValue { Key = Bytes("huge"), Value = ByteString.CopyFrom(new byte[2000]), ModRevision = 9 } });

        var fragments = WatchFragments.Split(response, 500);

        Assert.Equal(response.Events, fragments.SelectMany(f => f.Events));
        Assert.All(fragments[..^1], f => Assert.True(f.Fragment));
        Assert.False(fragments[^1].Fragment);
        Assert.All(fragments, f => Assert.Equal((7L, 9L), (f.WatchId, f.Header.Revision)));
        Assert.All(fragments.Where(f => f.Events.Count > 1), f => Assert.True(f.CalculateSize() < 500));
        Assert.Equal("huge", Assert.Single(fragments[^1].Events).Kv.Key.ToStringUtf8());
    }

    private static Watcher Make(long id, string key, string end)
    {
        Assert.True(WatchRange.TryCreate(Bytes(key), Bytes(end), out var range));
        return new Watcher(id, range, new WatchCreateRequest(), 1);
    }

    private static long[] Ids(WatcherIndex index, string key)
    {
        var into = new List<Watcher>();
        index.CollectMatches(Bytes(key), into);
        return into.Select(w => w.Id).Order().ToArray();
    }
}
