using Akka.Etcd.Api.Concurrency;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Tests.Concurrency;

public sealed class ConcurrencyKeysTests
{
    [Theory]
    [InlineData(0x694d7L, "job/694d7")]
    [InlineData(0x7fffffffffffffffL, "job/7fffffffffffffff")]
    [InlineData(-255L, "job/-ff")]
    [InlineData(long.MinValue, "job/-8000000000000000")]
    public void Own_key_is_name_slash_lease_as_go_percent_x(long lease, string expected) =>
        Assert.Equal(expected, ConcurrencyKeys.OwnKey(ByteString.CopyFromUtf8("job"), lease).ToStringUtf8());

    [Theory]
    [InlineData(new byte[] { (byte)'a', (byte)'/' }, new byte[] { (byte)'a', (byte)'0' })]
    [InlineData(new byte[] { (byte)'a', 0xff }, new byte[] { (byte)'b' })]
    [InlineData(new byte[] { 0xff, 0xff }, new byte[] { 0 })]
    public void Prefix_end_follows_etcd(byte[] prefix, byte[] end) =>
        Assert.Equal(end, ConcurrencyKeys.PrefixEnd(ByteString.CopyFrom(prefix)).ToByteArray());

    [Fact]
    public void Predecessor_read_is_the_last_created_key_up_to_a_revision()
    {
        var read = ConcurrencyKeys.LastCreatedUpTo(ByteString.CopyFromUtf8("l/"), 41);

        Assert.Equal("l/", read.Key.ToStringUtf8());
        Assert.Equal("l0", read.RangeEnd.ToStringUtf8());
        Assert.Equal(RangeRequest.Types.SortTarget.Create, read.SortTarget);
        Assert.Equal(RangeRequest.Types.SortOrder.Descend, read.SortOrder);
        Assert.Equal(1, read.Limit);
        Assert.Equal(41, read.MaxCreateRevision);
    }
}
