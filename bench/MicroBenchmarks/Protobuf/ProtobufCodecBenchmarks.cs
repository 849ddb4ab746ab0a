using BenchmarkDotNet.Attributes;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.MicroBenchmarks.Protobuf;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>
/// Encode/decode cost of the messages on etcd's hottest RPCs (rpc.proto): a PutRequest with an 8-byte key and a
/// 256-byte value, a RangeResponse of 10 such KeyValues, and a WatchResponse carrying one put event.
/// </summary>
[MemoryDiagnoser]
public class ProtobufCodecBenchmarks
{
    private readonly byte[] _buffer = new byte[16 * 1024];
    private PutRequest _put = null!;
    private byte[] _putBytes = null!;
    private RangeResponse _range = null!;
    private byte[] _rangeBytes = null!;
    private WatchResponse _watch = null!;
    private byte[] _watchBytes = null!;

    /// <summary>Builds the messages and their encodings.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var value = ByteString.CopyFrom(new byte[256]);
        _put = new PutRequest { Key = ByteString.CopyFrom(new byte[8]), Value = value };
        _putBytes = _put.ToByteArray();
        _range = new RangeResponse { Header = Header(), Count = 10 };
        for (var i = 0; i < 10; i++)
            _range.Kvs.Add(Kv(i, value));
        _rangeBytes = _range.ToByteArray();
        _watch = new WatchResponse { Header = Header(), WatchId = 7 };
        _watch.Events.Add(new Event { Type = Event.Types.EventType.Put, Kv = Kv(1, value) });
        _watchBytes = _watch.ToByteArray();
    }

    /// <summary>Serializes a PutRequest into a reused buffer (size computed, as the gRPC framing does).</summary>
    [Benchmark]
    public int EncodePutRequest()
    {
        var size = _put.CalculateSize();
        _put.WriteTo(_buffer.AsSpan(0, size));
        return size;
    }

    /// <summary>Parses a PutRequest.</summary>
    [Benchmark]
    public PutRequest DecodePutRequest() => PutRequest.Parser.ParseFrom(_putBytes);

    /// <summary>Serializes a 10-KeyValue RangeResponse.</summary>
    [Benchmark]
    public int EncodeRangeResponse()
    {
        var size = _range.CalculateSize();
        _range.WriteTo(_buffer.AsSpan(0, size));
        return size;
    }

    /// <summary>Parses a 10-KeyValue RangeResponse.</summary>
    [Benchmark]
    public RangeResponse DecodeRangeResponse() => RangeResponse.Parser.ParseFrom(_rangeBytes);

    /// <summary>Serializes a one-event WatchResponse.</summary>
    [Benchmark]
    public int EncodeWatchResponse()
    {
        var size = _watch.CalculateSize();
        _watch.WriteTo(_buffer.AsSpan(0, size));
        return size;
    }

    /// <summary>Parses a one-event WatchResponse.</summary>
    [Benchmark]
    public WatchResponse DecodeWatchResponse() => WatchResponse.Parser.ParseFrom(_watchBytes);

    private static ResponseHeader Header() => new() { ClusterId = 14841639068965178418, MemberId = 10276657743932975437, Revision = 123456, RaftTerm = 2 };

    private static KeyValue Kv(int i, ByteString value) => new()
    {
        Key = ByteString.CopyFromUtf8($"/registry/pods/{i:D8}"),
        Value = value,
        CreateRevision = 100 + i,
        ModRevision = 1000 + i,
        Version = 3,
    };
}
