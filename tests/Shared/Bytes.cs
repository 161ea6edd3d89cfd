using System.Buffers.Binary;
using System.Text;

namespace Wire.Testing;

/// <summary>Big-endian protocol fields for hand-built test frames (linked into tests, fuzz and bench).</summary>
internal static class Bytes
{
    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static byte[] CString(string value) => Concat(Encoding.UTF8.GetBytes(value), [0]);

    public static byte[] Int16(short value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }
}
