using System.Diagnostics;
using System.Security.Cryptography;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.EtcdDb;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Api.Snapshots;

/// <summary>
/// Maintenance.Snapshot (etcd 3.4's v3rpc/maintenance.go): streams a point-in-time image of the member's backend as
/// etcd 3.4's own db file (a bbolt file with etcd's buckets, see <see cref="EtcdDbExport"/>), so that
/// <c>etcdctl snapshot save</c> stores it and etcd's <c>snapshot status</c>/<c>snapshot restore</c> read it.
/// <para>Wire behaviour as etcd's: messages of 32 KiB (the last one shorter) whose <c>remaining_bytes</c> counts the
/// image bytes still to come after each, then one final message with <c>remaining_bytes</c> 0 whose <c>blob</c> is the
/// SHA-256 of the whole image (etcdctl checks that the file it saved is 32 bytes past a multiple of 512, and
/// restore checks the digest). No response header, as etcd.</para>
/// <para>How: a consistent read view is opened in order with applies (the store pauses only to commit and open it),
/// the image is written from it into a temp file in the member's snap directory (unlinked at once, so a crash leaves
/// nothing), the view is closed, and the file is streamed. Writes go on all along; the view is held only while the
/// image is written. Independent of the gRPC layer: the send callback does the writing. Thread-safe; one call per
/// stream.</para>
/// </summary>
public sealed class BackendSnapshotStream
{
    /// <summary>Blob bytes per message (etcd's <c>snapshotSendBufferSize</c>).</summary>
    public const int ChunkBytes = 32 * 1024;

    private readonly Func<CancellationToken, Task<SqliteReadView>> _openView;
    private readonly string _tempDirectory;
    private readonly ILogger _logger;

    /// <summary>Creates the stream source.</summary>
    /// <param name="openView">Opens a consistent view of the backend (e.g. the store's <see cref="StoreProtocol.OpenReadView"/>, as <see cref="For"/> asks it).</param>
    /// <param name="tempDirectory">Where the image is written before it is sent (created if missing); the member's
    /// snap directory keeps it on the data disk.</param>
    /// <param name="logger">Logs etcd's "sending database snapshot to client" lines.</param>
    public BackendSnapshotStream(Func<CancellationToken, Task<SqliteReadView>> openView, string tempDirectory, ILogger logger)
    {
        _openView = openView;
        _tempDirectory = tempDirectory;
        _logger = logger;
    }

    /// <summary>
    /// The stream source of a running member: its snap directory, its loggers, and a view of its backend opened by the
    /// MvccStoreActor in order with applies (<see cref="StoreProtocol.OpenReadView"/>: the pending batch committed, a
    /// SQLite read transaction pinned, so the view holds exactly the state after the last applied entry, without a
    /// ReadIndex, like etcd's snapshot). Opening fails with Stopped or Timeout as every ask of the member does.
    /// </summary>
    public static BackendSnapshotStream For(MemberGateway member) =>
        new(cancel => member.AskAsync<SqliteReadView>(member.Actors.Store, new StoreProtocol.RunQuery(0, StoreProtocol.OpenReadView.Instance), cancel),
            member.Options.SnapDir, member.Loggers.CreateLogger("v3rpc/maintenance"));

    /// <summary>
    /// Produces the whole response stream through <paramref name="send"/> (called one message at a time, awaited).
    /// </summary>
    /// <param name="send">Writes one response to the client.</param>
    /// <param name="cancel">The call's cancellation (client gone, deadline): stops producing.</param>
    /// <exception cref="Protos.Errors.EtcdException">From opening the view (member stopping, timeout).</exception>
    /// <exception cref="IOException">The image cannot be written to the temp directory.</exception>
    public async Task SendAsync(Func<SnapshotResponse, CancellationToken, Task> send, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(send);
        var started = Stopwatch.GetTimestamp();
        await using var image = await WriteImageAsync(cancel).ConfigureAwait(false);
        var total = image.Length;
        var size = HumanBytes.Format((ulong)total);
        _logger.LogInformation("sending database snapshot to client: {total-bytes} bytes ({size})", total, size);

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[ChunkBytes];
        long sent = 0;
        image.Position = 0;
        while (total - sent > 0)
        {
            var read = await image.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancel).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException($"the snapshot image ended after {sent} of {total} bytes");
            }
            sent += read;
            await send(new SnapshotResponse { RemainingBytes = (ulong)(total - sent), Blob = ByteString.CopyFrom(buffer, 0, read) }, cancel)
                .ConfigureAwait(false);
            sha.AppendData(buffer, 0, read);
        }
        var digest = sha.GetHashAndReset();
        _logger.LogInformation("sending database sha256 checksum to client: {total-bytes} bytes, checksum {checksum-size} bytes", total, digest.Length);
        await send(new SnapshotResponse { RemainingBytes = 0, Blob = ByteString.CopyFrom(digest) }, cancel).ConfigureAwait(false);
        _logger.LogInformation("successfully sent database snapshot to client: {total-bytes} bytes ({size}) in {took}",
            total, size, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Writes the image of a fresh backend view into an unlinked temp file; the view is closed on return.</summary>
    private async Task<FileStream> WriteImageAsync(CancellationToken cancel)
    {
        Directory.CreateDirectory(_tempDirectory);
        var path = Path.Combine(_tempDirectory, $"client-snapshot-{Guid.NewGuid():N}.tmp");
        var image = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose);
        try
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // A file system that cannot unlink an open file: DeleteOnClose removes it when the stream closes.
            }
            var view = await _openView(cancel).ConfigureAwait(false);
            var exporting = Stopwatch.GetTimestamp();
            EtcdDbExportResult result;
            try
            {
                // CPU and disk bound: off the request's thread, with the view pinned only for this long.
                result = await Task.Run(() => EtcdDbExport.Write(view, image, cancel), cancel).ConfigureAwait(false);
            }
            finally
            {
                view.Dispose();
            }
            _logger.LogInformation("wrote the backend snapshot image: {bytes} bytes, {rows} key versions, consistent index {index}, in {took}",
                result.SizeBytes, result.KeyRows, result.ConsistentIndex, Stopwatch.GetElapsedTime(exporting));
            return image;
        }
        catch
        {
            await image.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
