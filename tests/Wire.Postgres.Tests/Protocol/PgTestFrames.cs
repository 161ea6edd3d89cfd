using Wire.Testing;
using System.Buffers.Binary;
using System.Text;

namespace Wire.Postgres.Tests.Protocol;

/// <summary>
/// Protocol bytes written by hand, independently of Wire's writers, so the codec is tested against
/// the specification rather than against itself.
/// </summary>
internal static class PgTestFrames
{
    /// <summary>A tagged frame: type, big-endian length (counting itself, not the type), body.</summary>
    public static byte[] Frame(byte type, byte[] body)
    {
        var frame = new byte[1 + 4 + body.Length];
        frame[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), 4 + body.Length);
        body.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>The frames back to back.</summary>
    public static byte[] Stream(IEnumerable<(byte Type, byte[] Body)> frames) => frames.SelectMany(f => Frame(f.Type, f.Body)).ToArray();

    public static byte[] Concat(params byte[][] parts) => Bytes.Concat(parts);

    public static byte[] Int16(short value) => Bytes.Int16(value);

    public static byte[] Int32(int value) => Bytes.Int32(value);

    public static byte[] CString(string value) => Bytes.CString(value);

    /// <summary>A DataRow column: int32 length then the bytes, or length -1 for NULL.</summary>
    public static byte[] Column(string? value)
        => value is null ? Int32(-1) : Concat(Int32(Encoding.UTF8.GetByteCount(value)), Encoding.UTF8.GetBytes(value));

    /// <summary>
    /// What a server sends for an extended-protocol
    /// <c>SELECT id, name, email FROM users ORDER BY id LIMIT 3</c>:
    /// ParseComplete, BindComplete, RowDescription, three DataRows, CommandComplete, ReadyForQuery.
    /// </summary>
    public static (byte Type, byte[] Body)[] SelectResponse { get; } =
    [
        ((byte)'1', []),
        ((byte)'2', []),
        ((byte)'T', Concat(
            Int16(3),
            // name, table oid, column number, type oid, type length, type modifier, format
            CString("id"), Int32(16385), Int16(1), Int32(23), Int16(4), Int32(-1), Int16(0),
            CString("name"), Int32(16385), Int16(2), Int32(25), Int16(-1), Int32(-1), Int16(0),
            CString("email"), Int32(16385), Int16(3), Int32(1043), Int16(-1), Int32(255 + 4), Int16(0))),
        ((byte)'D', Concat(Int16(3), Column("1"), Column("alice"), Column("alice@example.com"))),
        ((byte)'D', Concat(Int16(3), Column("2"), Column("bob"), Column(null))),
        ((byte)'D', Concat(Int16(3), Column("3"), Column("çedille ✓"), Column(""))),
        ((byte)'C', CString("SELECT 3")),
        ((byte)'Z', [(byte)'I']),
    ];

    /// <summary>What a client sends for the query above: Parse, Bind, Describe, Execute, Sync.</summary>
    public static (byte Type, byte[] Body)[] SelectRequest { get; } =
    [
        ((byte)'P', Concat(CString(""), CString("SELECT id, name, email FROM users ORDER BY id LIMIT $1"), Int16(1), Int32(23))),
        ((byte)'B', Concat(CString(""), CString(""), Int16(0), Int16(1), Int32(1), Encoding.ASCII.GetBytes("3"), Int16(0))),
        ((byte)'D', Concat([(byte)'P'], CString(""))),
        ((byte)'E', Concat(CString(""), Int32(0))),
        ((byte)'S', []),
    ];
}
