using System.Globalization;

namespace Akka.Etcd.Storage.Wal;

/// <summary>Segment file names <c>%016x-%016x.wal</c>: sequence number, then the raft index of the first entry the
/// segment may hold (etcd's walName).</summary>
internal readonly record struct WalSegmentName(ulong Sequence, ulong FirstIndex)
{
    public const string Extension = ".wal";

    public string FileName => $"{Sequence:x16}-{FirstIndex:x16}{Extension}";

    public static bool TryParse(string fileName, out WalSegmentName name)
    {
        name = default;
        if (fileName.Length != 33 + Extension.Length || !fileName.EndsWith(Extension, StringComparison.Ordinal)
            || fileName[16] != '-')
            return false;
        if (!ulong.TryParse(fileName.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var seq)
            || !ulong.TryParse(fileName.AsSpan(17, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var index))
            return false;
        name = new WalSegmentName(seq, index);
        return true;
    }
}
