using System.Buffers.Binary;
using System.Text;
using Akka.Etcd.Storage.Bbolt;

namespace Akka.Etcd.Storage.Tests.Bbolt;

/// <summary>Temp bbolt files for tests: written with <see cref="BboltWriter"/>, opened with <see cref="BboltFile"/>.</summary>
public sealed class BboltTestFiles : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("bbolt-tests-").FullName;
    readonly List<BboltFile> _open = new();
    int _next;

    /// <summary>Writes a file through <paramref name="fill"/> and returns its path.</summary>
    public string Write(Action<BboltWriter> fill, ulong txid = 2)
    {
        var path = Path.Combine(_root, $"db-{_next++}");
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite);
        var writer = BboltWriter.Create(stream);
        fill(writer);
        writer.Complete(txid);
        return path;
    }

    /// <summary>Opens <paramref name="path"/>; closed with the fixture.</summary>
    public BboltFile Open(string path)
    {
        var file = BboltFile.Open(path);
        _open.Add(file);
        return file;
    }

    /// <summary>A copy of <paramref name="path"/> changed by <paramref name="edit"/> (the bytes of the whole file).</summary>
    public string Copy(string path, Action<byte[]> edit)
    {
        var bytes = File.ReadAllBytes(path);
        edit(bytes);
        var copy = Path.Combine(_root, $"db-{_next++}");
        File.WriteAllBytes(copy, bytes);
        return copy;
    }

    /// <summary>Every (key, value, isBucket) of a bucket as text-friendly tuples.</summary>
    public static List<(byte[] Key, byte[] Value, bool IsBucket)> Elements(BboltBucket bucket)
    {
        var result = new List<(byte[], byte[], bool)>();
        bucket.ForEach((key, value, isBucket) => result.Add((key.ToArray(), value.ToArray(), isBucket)));
        return result;
    }

    /// <summary>UTF-8 bytes.</summary>
    public static byte[] U(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A 4-byte big-endian key, so numeric order is byte order.</summary>
    public static byte[] Key(int i)
    {
        var key = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(key, i);
        return key;
    }

    /// <summary>Re-signs both meta pages after a test edited them (FNV-1a over the first 56 meta bytes).</summary>
    public static void Resign(byte[] file, int pageSize = 4096)
    {
        foreach (var page in new[] { 0, pageSize })
        {
            var meta = file.AsSpan(page + BboltFormat.PageHeaderSize, BboltFormat.MetaSize);
            BinaryPrimitives.WriteUInt64LittleEndian(meta[BboltFormat.MetaChecksumOffset..], BboltFormat.Fnv1a64(meta[..BboltFormat.MetaChecksumOffset]));
        }
    }

    public void Dispose()
    {
        foreach (var file in _open) file.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
