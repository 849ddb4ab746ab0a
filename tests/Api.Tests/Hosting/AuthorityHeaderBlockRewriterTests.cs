using System.Text;
using Akka.Etcd.Api.Hosting.Hpack;
using static Akka.Etcd.Api.Tests.Hosting.HpackBuild;

namespace Akka.Etcd.Api.Tests.Hosting;

public class AuthorityHeaderBlockRewriterTests
{
    private const int AuthorityIndex = 1;
    private const int PathIndex = 4;
    private const int ContentTypeIndex = 31;
    private const int UserAgentIndex = 58;

    /// <summary>The first request grpc-go sends for clientv3 3.4's Maintenance calls: everything indexed incrementally.</summary>
    private static byte[] FirstRequest(string authority, bool huffman) => Block(
        Indexed(3), // :method POST
        Indexed(6), // :scheme http
        Literal(IncrementalIndexing, PathIndex, "/etcdserverpb.Maintenance/Status", huffman),
        Literal(IncrementalIndexing, AuthorityIndex, authority, huffman),
        Literal(IncrementalIndexing, ContentTypeIndex, "application/grpc", huffman),
        Literal(IncrementalIndexing, UserAgentIndex, "grpc-go/1.26.0", huffman),
        Literal(IncrementalIndexing, "te", false, "trailers", huffman));

    /// <summary>The next request: a new :path, then the dynamic entries (te 63, user-agent 64, content-type 65, :authority 66).</summary>
    private static byte[] SecondRequest(bool huffman) => Block(
        Indexed(3), Indexed(6), Literal(IncrementalIndexing, PathIndex, "/etcdserverpb.KV/Range", huffman),
        Indexed(66), Indexed(65), Indexed(64), Indexed(63));

    private static byte[] Rewrite(byte[] block, HeaderBlockRewrite expected)
    {
        var destination = new byte[16_384];
        Assert.Equal(expected, AuthorityHeaderBlockRewriter.Scan(block));
        Assert.Equal(expected, AuthorityHeaderBlockRewriter.Rewrite(block, destination, out var written));
        return expected == HeaderBlockRewrite.Rewritten ? destination[..written] : block;
    }

    [Theory]
    [InlineData("http://127.0.0.1:2379", "127.0.0.1:2379")]
    [InlineData("https://127.0.0.1:2379", "127.0.0.1:2379")]
    [InlineData("unix://localhost:1234", "localhost:1234")]
    [InlineData("http://[::1]:2379/", "[::1]:2379")]
    [InlineData("h2c+x-y.z://host/path/more", "host")]
    public void Urls_yield_their_authority(string value, string expected)
    {
        var octets = Encoding.ASCII.GetBytes(value);
        Assert.True(AuthorityHeaderBlockRewriter.TryGetAuthorityOfUrl(octets, out var authority));
        Assert.Equal(expected, Encoding.ASCII.GetString(octets[authority]));
    }

    [Theory]
    [InlineData("127.0.0.1:2379")]
    [InlineData("localhost")]
    [InlineData("://host")]
    [InlineData("1http://host")]
    [InlineData("ht_tp://host")]
    [InlineData("http://")]
    [InlineData("unix:///var/run/etcd.sock")]
    [InlineData("")]
    public void Other_values_are_not_urls(string value) =>
        Assert.False(AuthorityHeaderBlockRewriter.TryGetAuthorityOfUrl(Encoding.ASCII.GetBytes(value), out _));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Grpc_go_authority_is_stripped_and_later_references_by_dynamic_index_see_the_stripped_value(bool huffman)
    {
        var client = new HpackTestDecoder();
        var kestrel = new HpackTestDecoder();

        var first = FirstRequest("http://127.0.0.1:2379", huffman);
        var sent = client.Decode(first);
        Assert.Equal((":authority", "http://127.0.0.1:2379"), sent[3]);
        var received = kestrel.Decode(Rewrite(first, HeaderBlockRewrite.Rewritten));
        Assert.Equal(sent.Select(f => f.Name == ":authority" ? (f.Name, "127.0.0.1:2379") : f), received);
        Assert.Equal(client.TableSize - "http://".Length, kestrel.TableSize);

        var second = SecondRequest(huffman);
        sent = client.Decode(second);
        Assert.Equal((":authority", "http://127.0.0.1:2379"), sent[3]);
        Assert.Equal(("te", "trailers"), sent[6]);
        received = kestrel.Decode(Rewrite(second, HeaderBlockRewrite.Unchanged));
        Assert.Equal(sent.Select(f => f.Name == ":authority" ? (f.Name, "127.0.0.1:2379") : f), received);
    }

    [Theory]
    [InlineData(IncrementalIndexing, false, false, false)]
    [InlineData(IncrementalIndexing, true, false, true)]
    [InlineData(IncrementalIndexing, true, true, true)]
    [InlineData(WithoutIndexing, false, false, true)]
    [InlineData(WithoutIndexing, true, true, false)]
    [InlineData(NeverIndexed, false, false, true)]
    [InlineData(NeverIndexed, true, false, false)]
    public void Every_literal_kind_keeps_its_representation_and_name_encoding(byte kind, bool literalName, bool huffmanName, bool huffmanValue)
    {
        var field = literalName
            ? Literal(kind, ":authority", huffmanName, "https://example.com:443/ignored", huffmanValue)
            : Literal(kind, AuthorityIndex, "https://example.com:443/ignored", huffmanValue);
        var nameOctets = field.Length - String("https://example.com:443/ignored", huffmanValue).Length;
        var block = Block(Indexed(2), field, Indexed(4));

        var rewritten = Rewrite(block, HeaderBlockRewrite.Rewritten);

        Assert.Equal(Block(Indexed(2), field[..nameOctets], String("example.com:443", false), Indexed(4)), rewritten);
        Assert.Equal([(":method", "GET"), (":authority", "example.com:443"), (":path", "/")], new HpackTestDecoder().Decode(rewritten));
    }

    [Fact]
    public void Blocks_without_a_url_authority_are_left_alone()
    {
        Rewrite(Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"), HeaderBlockRewrite.Unchanged); // RFC 7541 C.4.1
        Rewrite(Block(Indexed(3), Literal(IncrementalIndexing, "x-authority", false, "http://a:1", false)), HeaderBlockRewrite.Unchanged);
        Rewrite(Block(Literal(WithoutIndexing, 38, "http://a:1", false)), HeaderBlockRewrite.Unchanged); // host, not :authority
        Rewrite(Block(Literal(WithoutIndexing, ":authorit", true, "http://a:1", true)), HeaderBlockRewrite.Unchanged);
        Rewrite([], HeaderBlockRewrite.Unchanged);
    }

    [Fact]
    public void An_entry_larger_than_the_table_is_rewritten_too_and_the_tables_stay_consistent()
    {
        var client = new HpackTestDecoder();
        var kestrel = new HpackTestDecoder();
        var url = "http://" + new string('a', 20) + ":2379"; // client entry: 32 + 10 + 32 = 74 octets, Kestrel's: 67
        var first = Block(SizeUpdate(70), Literal(IncrementalIndexing, 38, "h", false), Literal(IncrementalIndexing, AuthorityIndex, url, false));
        client.Decode(first);
        kestrel.Decode(Rewrite(first, HeaderBlockRewrite.Rewritten));
        Assert.Empty(client.DynamicTable); // the client's entry did not fit: its table is emptied (RFC 7541 §4.4)
        Assert.Equal([(":authority", new string('a', 20) + ":2379")], kestrel.DynamicTable); // an extra entry the client never names

        var second = Block(Literal(IncrementalIndexing, 38, "x", false), Indexed(62));
        Assert.Equal([("host", "x"), ("host", "x")], client.Decode(second));
        Assert.Equal([("host", "x"), ("host", "x")], kestrel.Decode(Rewrite(second, HeaderBlockRewrite.Unchanged)));
        Assert.Equal(client.DynamicTable, kestrel.DynamicTable.Take(client.DynamicTable.Count));
    }

    [Theory]
    [InlineData("80")] // indexed field 0
    [InlineData("82 20")] // size update after a field
    [InlineData("41 85 6874")] // value shorter than its length
    [InlineData("41")] // no value
    [InlineData("41 81 ff")] // :authority value with invalid Huffman (EOS prefix of 8 bits)
    [InlineData("40 83 ffffff 01 61")] // Huffman name of three octets holding EOS
    [InlineData("3f")] // size update integer truncated
    public void Invalid_hpack_is_reported_unparsable(string hex)
    {
        Assert.Equal(HeaderBlockRewrite.Unparsable, AuthorityHeaderBlockRewriter.Scan(Block(SizeUpdate(100), Hex(hex))));
        Assert.Equal(HeaderBlockRewrite.Unparsable, AuthorityHeaderBlockRewriter.Rewrite(Block(SizeUpdate(100), Hex(hex)), new byte[1024], out var written));
        Assert.Equal(0, written);
    }

    [Fact]
    public void A_rewrite_that_does_not_fit_the_destination_leaves_the_block_unchanged()
    {
        // Huffman-coded originals can be shorter than the plain rewritten value.
        var host = new string('a', 30) + ":2379"; // 'a' has a 5-bit code
        var block = Block(Indexed(2), Literal(IncrementalIndexing, AuthorityIndex, "http://" + host, true));
        var expected = Block(Indexed(2), Literal(IncrementalIndexing, AuthorityIndex, host, false));
        Assert.True(expected.Length > block.Length);
        Assert.Equal(HeaderBlockRewrite.Rewritten, AuthorityHeaderBlockRewriter.Scan(block));
        Assert.Equal(HeaderBlockRewrite.Unchanged, AuthorityHeaderBlockRewriter.Rewrite(block, new byte[expected.Length - 1], out var written));
        Assert.Equal(0, written);
        var destination = new byte[expected.Length];
        Assert.Equal(HeaderBlockRewrite.Rewritten, AuthorityHeaderBlockRewriter.Rewrite(block, destination, out written));
        Assert.Equal(expected, destination[..written]);
    }

    /// <summary>
    /// A grpc-go-like encoder (exact matches indexed, the rest literal, mostly with incremental indexing) sends random
    /// requests with URL and plain authorities, large fields that force evictions and table size updates; Kestrel's side
    /// decodes the rewritten blocks. Every index must name the same field on both sides, and Kestrel's table must always
    /// start with the client's entries.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Dynamic_tables_stay_consistent_over_random_request_sequences(int seed)
    {
        var random = new Random(seed);
        var client = new HpackTestDecoder();
        var kestrel = new HpackTestDecoder();
        var encoderTable = new HpackTestDecoder();
        string[] authorities =
        [
            "http://127.0.0.1:2379", "https://localhost:2379", "127.0.0.1:2379", "unix://localhost:1234",
            "http://" + new string('h', 150) + ":2379", "http://" + new string('k', 4000) + ":1",
        ];
        string[] paths = ["/etcdserverpb.KV/Range", "/etcdserverpb.KV/Put", "/etcdserverpb.Maintenance/Status", "/etcdserverpb.Lease/LeaseGrant"];
        var rewrites = 0;
        for (var request = 0; request < 400; request++)
        {
            var fields = new List<(string Name, string Value)>
            {
                (":method", "POST"), (":scheme", "http"), (":path", paths[random.Next(paths.Length)]),
                (":authority", authorities[random.Next(authorities.Length)]), ("content-type", "application/grpc"),
            };
            if (random.Next(3) == 0)
                fields.Add(("x-pad", new string((char)('a' + random.Next(26)), random.Next(600))));
            if (random.Next(4) == 0)
                fields.Add(("grpc-timeout", $"{random.Next(10_000)}m"));

            var parts = new List<byte[]>();
            if (random.Next(20) == 0)
            {
                parts.Add(SizeUpdate(random.Next(5) == 0 ? random.Next(200) : random.Next(4097)));
                encoderTable.Decode(parts[0]);
            }

            foreach (var field in fields)
            {
                parts.Add(Encode(field, encoderTable, random));
                encoderTable.Decode(parts[^1]); // the encoder's table follows each field, as indices shift within a block
            }

            var block = Block([.. parts]);

            var destination = new byte[16_384];
            var outcome = AuthorityHeaderBlockRewriter.Rewrite(block, destination, out var written);
            Assert.NotEqual(HeaderBlockRewrite.Unparsable, outcome);
            rewrites += outcome == HeaderBlockRewrite.Rewritten ? 1 : 0;

            var sent = client.Decode(block);
            Assert.Equal(fields, sent);
            var received = kestrel.Decode(outcome == HeaderBlockRewrite.Rewritten ? destination.AsSpan(0, written) : block);
            Assert.Equal(sent.Select(Normalize), received.Select(Normalize));
            Assert.Equal(client.DynamicTable.Select(Normalize), kestrel.DynamicTable.Take(client.DynamicTable.Count).Select(Normalize));
        }

        Assert.True(rewrites > 20, $"only {rewrites} rewrites");
    }

    private static (string Name, string Value) Normalize((string Name, string Value) field)
    {
        if (field.Name != ":authority")
            return field;
        var octets = Encoding.Latin1.GetBytes(field.Value);
        return AuthorityHeaderBlockRewriter.TryGetAuthorityOfUrl(octets, out var authority)
            ? (field.Name, Encoding.Latin1.GetString(octets[authority]))
            : field;
    }

    private static byte[] Encode((string Name, string Value) field, HpackTestDecoder clientTable, Random random)
    {
        var exact = Array.IndexOf(HpackTestDecoder.StaticTable, field);
        if (exact >= 0)
            return Indexed(exact + 1);
        var dynamicExact = clientTable.DynamicTable.ToList().IndexOf(field);
        if (dynamicExact >= 0 && random.Next(10) > 0)
            return Indexed(HpackTestDecoder.StaticTable.Length + 1 + dynamicExact);

        var kind = random.Next(10) switch { < 7 => IncrementalIndexing, 7 or 8 => WithoutIndexing, _ => NeverIndexed };
        var huffman = random.Next(2) == 0;
        var nameIndex = Array.FindIndex(HpackTestDecoder.StaticTable, e => e.Name == field.Name);
        var encoded = nameIndex >= 0
            ? Literal(kind, nameIndex + 1, field.Value, huffman)
            : Literal(kind, field.Name, random.Next(2) == 0, field.Value, huffman);
        return encoded;
    }
}
