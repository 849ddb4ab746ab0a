namespace Akka.Etcd.Storage.Mvcc.Hashing;

/// <summary>
/// Incremental CRC-32C (Castagnoli polynomial, reflected 0x82F63B78), the checksum etcd's HashKV uses
/// (Go's crc32.MakeTable(crc32.Castagnoli)). Start with a new instance, <see cref="Append"/> bytes, read <see cref="Value"/>.
/// </summary>
internal sealed class Crc32Castagnoli
{
    static readonly uint[] Table = BuildTable();
    uint _crc = 0xFFFFFFFFu;

    /// <summary>Feeds <paramref name="data"/> into the checksum.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        var crc = _crc;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        _crc = crc;
    }

    /// <summary>The checksum of everything appended so far.</summary>
    public uint Value => ~_crc;

    static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
