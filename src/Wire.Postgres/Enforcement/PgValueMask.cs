using System.Buffers.Binary;
using Wire.Enforcement.Masking;

namespace Wire.Postgres.Enforcement;

/// <summary>
/// Masks one column value in place, length kept (DESIGN.md §3). Text format: the style's own mask. Binary format:
/// text-like types get the style's mask over their characters; numeric becomes a valid zero of the same length; every
/// other type is zero-filled (0, false, the epoch, the nil UUID), which a client may refuse to decode but which never
/// carries the value. A host's own style (<see cref="IMasker"/>) masks text format and binary text-like values; binary
/// values of other types, jsonb included, get what <c>full</c> gives them.
/// </summary>
internal static class PgValueMask
{
    public static void Mask(Span<byte> value, bool binary, uint typeOid, ValueMasker masker)
    {
        if (!binary || IsTextLike(typeOid))
        {
            masker.Mask(value);
            return;
        }

        switch (typeOid)
        {
            case PgTypes.Jsonb when value.Length > 1:
                // Version byte, then the JSON text; a host's style gets what full gives (its output need not be JSON).
                if (masker.CustomName is null)
                {
                    masker.Mask(value[1..]);
                }
                else
                {
                    value[1..].Fill((byte)'*');
                }
                break;
            case PgTypes.Numeric when value.Length >= 8:
                // ndigits kept (it fixes the length), weight 0, sign positive, dscale 0, every digit 0: the number 0.
                value[2..].Clear();
                break;
            default:
                value.Clear();
                break;
        }
    }

    /// <summary>Whether detectors can read a value of this type and format as text.</summary>
    public static bool IsScannable(bool binary, uint typeOid) => !binary || IsTextLike(typeOid) || typeOid == PgTypes.Jsonb;

    /// <summary>The part of a value detectors read: all of it, except jsonb's binary version byte.</summary>
    public static Span<byte> ScannedPart(Span<byte> value, bool binary, uint typeOid) =>
        binary && typeOid == PgTypes.Jsonb && value.Length > 0 ? value[1..] : value;

    private static bool IsTextLike(uint typeOid) => typeOid is PgTypes.Text or PgTypes.Varchar or PgTypes.Bpchar or PgTypes.Name
        or PgTypes.Json or PgTypes.Xml or PgTypes.Char or PgTypes.Unknown;

    /// <summary>Reads an Int16 count or length from a row body; used by the row masker.</summary>
    public static short ReadInt16(ReadOnlySpan<byte> span) => BinaryPrimitives.ReadInt16BigEndian(span);
}

/// <summary>Built-in type OIDs Wire treats specially (pg_type.dat; stable across versions).</summary>
internal static class PgTypes
{
    public const uint Bool = 16;
    public const uint Bytea = 17;
    public const uint Char = 18;
    public const uint Name = 19;
    public const uint Text = 25;
    public const uint Json = 114;
    public const uint Xml = 142;
    public const uint Unknown = 705;
    public const uint Bpchar = 1042;
    public const uint Varchar = 1043;
    public const uint Numeric = 1700;
    public const uint Jsonb = 3802;
}
