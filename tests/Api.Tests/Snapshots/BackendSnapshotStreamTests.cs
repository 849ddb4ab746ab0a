using Akka.Etcd.Actors.Store.Apply;
using System.Security.Cryptography;
using Akka.Etcd.Api.Snapshots;
using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Bbolt;
using Akka.Etcd.Storage.EtcdDb;
using Akka.Etcd.Storage.Mvcc;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Api.Tests.Snapshots;

/// <summary>The Maintenance.Snapshot stream as etcd 3.4 sends it: 32 KiB chunks counting down, then the SHA-256.</summary>
public sealed class BackendSnapshotStreamTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("akka-etcd-snapshot-stream-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Store(int keys)
    {
        var path = Path.Combine(_root, "store", "db");
        using var store = MvccStore.Open(path, new MvccStoreOptions());
        var txn = new TxnRequest();
        for (var i = 0; i < keys; i++)
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8($"key/{i:D6}"), Value = ByteString.CopyFrom(new byte[100]) } });
        KvApplier.Txn(store, txn, 1);
        store.Commit();
        return path;
    }

    private async Task<List<SnapshotResponse>> Receive(string dbPath, CancellationToken cancel = default)
    {
        var stream = new BackendSnapshotStream(_ => Task.FromResult(SqliteReadView.Open(dbPath)), Path.Combine(_root, "tmp"), NullLogger.Instance);
        var responses = new List<SnapshotResponse>();
        await stream.SendAsync((response, _) =>
        {
            responses.Add(response);
            return Task.CompletedTask;
        }, cancel);
        return responses;
    }

    [Fact]
    public async Task Chunks_count_down_and_the_last_message_is_the_sha256_of_the_image()
    {
        var responses = await Receive(Store(2_000));

        var chunks = responses[..^1];
        var image = chunks.SelectMany(r => r.Blob.ToByteArray()).ToArray();
        Assert.True(chunks.Count > 3);
        Assert.All(chunks[..^1], r => Assert.Equal(BackendSnapshotStream.ChunkBytes, r.Blob.Length));
        long remaining = image.Length;
        foreach (var chunk in chunks)
        {
            remaining -= chunk.Blob.Length;
            Assert.Equal((ulong)remaining, chunk.RemainingBytes);
            Assert.Null(chunk.Header);
        }
        Assert.Equal(0, image.Length % 4096); // whole pages, so etcdctl finds the digest at length % 512 == 32
        var digest = responses[^1];
        Assert.Equal(0UL, digest.RemainingBytes);
        Assert.Equal(SHA256.HashData(image), digest.Blob.ToByteArray());

        var file = Path.Combine(_root, "saved.db");
        await File.WriteAllBytesAsync(file, [.. image, .. digest.Blob.ToByteArray()]);
        Assert.Null(SnapshotChecksum.Verify(file, skipHashCheck: false));
        using var db = BboltFile.Open(file);
        Assert.Empty(db.Check());
        Assert.Equal(2_000, db.Root.Bucket("key"u8)!.Value.Count());
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "tmp"))); // the temp image is gone
    }

    [Fact]
    public async Task A_cancelled_call_stops_and_leaves_no_temp_file()
    {
        using var cancel = new CancellationTokenSource();
        var stream = new BackendSnapshotStream(_ => Task.FromResult(SqliteReadView.Open(Store(2_000))), Path.Combine(_root, "tmp"), NullLogger.Instance);
        var sent = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.SendAsync((_, token) =>
        {
            if (++sent == 2) cancel.Cancel();
            token.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        }, cancel.Token));
        Assert.Equal(2, sent);
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "tmp")));
    }
}
