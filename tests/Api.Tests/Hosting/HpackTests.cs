using System.Text;
using Akka.Etcd.Api.Hosting.Hpack;

namespace Akka.Etcd.Api.Tests.Hosting;

public class HpackTests
{
    [Theory]
    [InlineData("0a", 5, 10, 1)] // RFC 7541 C.1.1
    [InlineData("ea", 5, 10, 1)] // C.1.1 with the representation's flag bits set above the prefix
    [InlineData("1f9a0a", 5, 1337, 3)] // C.1.2
    [InlineData("2a", 8, 42, 1)] // C.1.3
    [InlineData("7f00", 7, 127, 2)]
    [InlineData("1fe0ffffff07", 5, int.MaxValue, 6)]
    public void Integers_decode_as_in_rfc7541_appendix_c1(string hex, int prefixBits, int expected, int octets)
    {
        var source = HpackBuild.Hex(hex + "ff"); // a trailing octet that must not be read
        var position = 0;
        Assert.True(HpackInteger.TryRead(source, ref position, prefixBits, out var value));
        Assert.Equal(expected, value);
        Assert.Equal(octets, position);
    }

    [Theory]
    [InlineData("1f9a")] // continuation bit set on the last octet
    [InlineData("1f")] // prefix full, nothing follows
    [InlineData("1fe2ffffff07")] // int.MaxValue + 1
    [InlineData("1fffffffffff7f")] // far too many octets
    public void Truncated_or_overflowing_integers_are_rejected(string hex)
    {
        var position = 0;
        Assert.False(HpackInteger.TryRead(HpackBuild.Hex(hex), ref position, 5, out _));
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(30, 5)]
    [InlineData(31, 5)]
    [InlineData(1337, 5)]
    [InlineData(127, 7)]
    [InlineData(16_384, 7)]
    [InlineData(int.MaxValue, 4)]
    public void Integers_round_trip_through_write_and_read(int value, int prefixBits)
    {
        var buffer = new byte[8];
        var written = HpackInteger.Write(buffer, value, prefixBits, (byte)(0x80 & ~((1 << prefixBits) - 1)));
        Assert.True(written > 0);
        var position = 0;
        Assert.True(HpackInteger.TryRead(buffer.AsSpan(0, written), ref position, prefixBits, out var read));
        Assert.Equal(value, read);
        Assert.Equal(written, position);
        Assert.Equal(0, HpackInteger.Write(buffer.AsSpan(0, written - 1), value, prefixBits, 0));
    }

    [Theory]
    [InlineData("f1e3c2e5f23a6ba0ab90f4ff", "www.example.com")] // C.4.1
    [InlineData("a8eb10649cbf", "no-cache")] // C.4.2
    [InlineData("25a849e95ba97d7f", "custom-key")] // C.4.3
    [InlineData("25a849e95bb8e8b4bf", "custom-value")] // C.4.3
    [InlineData("6402", "302")] // C.6.1
    [InlineData("aec3771a4b", "private")] // C.6.1
    [InlineData("d07abe941054d444a8200595040b8166e082a62d1bff", "Mon, 21 Oct 2013 20:13:21 GMT")] // C.6.1
    [InlineData("9d29ad171863c78f0b97c8e9ae82ae43d3", "https://www.example.com")] // C.6.1
    [InlineData("9bd9ab", "gzip")] // C.6.3
    [InlineData("94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")] // C.6.3
    public void Huffman_strings_decode_as_in_rfc7541_appendix_c(string hex, string expected)
    {
        var encoded = HpackBuild.Hex(hex);
        var decoded = new byte[HpackHuffman.MaxDecodedLength(encoded.Length)];
        Assert.True(HpackHuffman.TryDecode(encoded, decoded, out var written));
        Assert.Equal(expected, Encoding.Latin1.GetString(decoded, 0, written));
        Assert.Equal(encoded, HpackBuild.Huffman(expected)); // and the test encoder agrees with the RFC
    }

    [Fact]
    public void Every_symbol_round_trips_through_the_huffman_code()
    {
        var all = new string(Enumerable.Range(0, 256).Select(i => (char)i).ToArray());
        foreach (var text in new[] { all, new string(all.Reverse().ToArray()), "a", "\0", "\u00ff" })
        {
            var encoded = HpackBuild.Huffman(text);
            var decoded = new byte[HpackHuffman.MaxDecodedLength(encoded.Length)];
            Assert.True(HpackHuffman.TryDecode(encoded, decoded, out var written));
            Assert.Equal(text, Encoding.Latin1.GetString(decoded, 0, written));
        }
    }

    [Theory]
    [InlineData("ffffffff")] // EOS (30 ones) decoded inside the string
    [InlineData("1fff")] // 'a' (00011) then 11 bits of padding: longer than 7 bits
    [InlineData("18")] // 'a' then padding that is not EOS's prefix (zeros)
    [InlineData("fe")] // 7 ones then a zero: padding must be all ones
    public void Invalid_huffman_strings_are_rejected(string hex)
    {
        var encoded = HpackBuild.Hex(hex);
        Assert.False(HpackHuffman.TryDecode(encoded, new byte[16], out _));
    }

    [Fact]
    public void Huffman_decoding_fails_when_the_destination_is_short()
    {
        var encoded = HpackBuild.Huffman("www.example.com");
        Assert.False(HpackHuffman.TryDecode(encoded, new byte[14], out _));
    }

    [Fact]
    public void String_literals_report_their_flag_and_octets()
    {
        var block = HpackBuild.Hex("8cf1e3c2e5f23a6ba0ab90f4ff" + "0d" + "6375 7374 6f6d 2d68 6561 6465 72");
        var position = 0;
        Assert.True(HpackString.TryRead(block, ref position, out var huffman, out var octets));
        Assert.True(huffman);
        Assert.Equal(1..13, octets);
        Assert.True(HpackString.TryRead(block, ref position, out huffman, out octets));
        Assert.False(huffman);
        Assert.Equal(14..27, octets);
        Assert.False(HpackString.TryRead(block, ref position, out _, out _)); // end of block
        position = 0;
        Assert.False(HpackString.TryRead(block.AsSpan(0, 12), ref position, out _, out _)); // truncated octets
    }

    [Fact]
    public void Test_decoder_follows_rfc7541_c4_requests_with_huffman_coding()
    {
        var decoder = new HpackTestDecoder();
        Assert.Equal(
            [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")],
            decoder.Decode(HpackBuild.Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")));
        Assert.Equal(57, decoder.TableSize);
        Assert.Equal(
            [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache")],
            decoder.Decode(HpackBuild.Hex("8286 84be 5886 a8eb 1064 9cbf")));
        Assert.Equal(
            [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")],
            decoder.Decode(HpackBuild.Hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")));
        Assert.Equal(164, decoder.TableSize);
        Assert.Equal([("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com")], decoder.DynamicTable);
    }

    [Fact]
    public void Test_decoder_evicts_as_in_rfc7541_c6_responses()
    {
        var decoder = new HpackTestDecoder(256);
        decoder.Decode(HpackBuild.Hex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"));
        Assert.Equal(222, decoder.TableSize);
        decoder.Decode(HpackBuild.Hex("4883 640e ffc1 c0bf"));
        Assert.Equal(222, decoder.TableSize);
        var third = decoder.Decode(HpackBuild.Hex(
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07"));
        Assert.Equal((":status", "200"), third[0]);
        Assert.Equal(("location", "https://www.example.com"), third[3]);
        Assert.Equal(215, decoder.TableSize);
        Assert.Equal(
            [("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"), ("content-encoding", "gzip"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT")],
            decoder.DynamicTable);
    }
}
