using System.Buffers.Binary;
using Wire.Enforcement.Masking;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Enforcement;

/// <summary>
/// What to do with each column of one result shape (a RowDescription with its real formats), computed once per shape:
/// mask with a style, scan with the detectors, or leave. Applied to every DataRow of the result in place, with no
/// allocation. A plan for an unknown shape masks every value (<see cref="MaskEverything"/>): no row is ever forwarded
/// without a plan.
/// </summary>
internal sealed class PgMaskPlan
{
    private readonly Column[] _columns;
    private readonly ValueMasker? _everything;

    private PgMaskPlan(Column[] columns, string[] names, ValueMasker? everything)
    {
        _columns = columns;
        Names = names;
        _everything = everything;
        foreach (var column in columns)
        {
            HasWork |= column.Masker is not null || column.Scanner is not null;
        }
        HasWork |= everything is not null;
        MaskedCounts = new long[Math.Max(columns.Length, 1)];
    }

    /// <summary>Whether any column is touched (otherwise rows pass as they are).</summary>
    public bool HasWork { get; }

    /// <summary>Column names, for the recording's masked counts.</summary>
    public string[] Names { get; }

    /// <summary>Masked values per column so far (the server pump's own; read for the result summary, then reset).</summary>
    public long[] MaskedCounts { get; }

    /// <summary>A plan that masks every value fully (type-aware): for rows whose shape Wire does not know.</summary>
    public static PgMaskPlan MaskEverything(ValueMasker full) => new([], [], full);

    public static PgMaskPlan Create(PgField[] fields, string[] names, Func<int, PgField, (ValueMasker? Masker, ContentScanner? Scanner)> decide)
    {
        var columns = new Column[fields.Length];
        for (int i = 0; i < fields.Length; i++)
        {
            var (masker, scanner) = decide(i, fields[i]);
            bool binary = fields[i].Format == 1;
            columns[i] = new Column(masker, scanner is not null && PgValueMask.IsScannable(binary, fields[i].TypeOid) ? scanner : null, binary, fields[i].TypeOid);
        }
        return new PgMaskPlan(columns, names, null);
    }

    /// <summary>The same shape with the formats a Bind asked for (0 codes: all text; 1: for all; N: per column).</summary>
    public static PgField[] WithFormats(PgField[] fields, ReadOnlySpan<byte> formatCodes, int count)
    {
        var result = new PgField[fields.Length];
        for (int i = 0; i < fields.Length; i++)
        {
            short format = count == 0 ? (short)0
                : count == 1 ? BinaryPrimitives.ReadInt16BigEndian(formatCodes)
                : i < count ? BinaryPrimitives.ReadInt16BigEndian(formatCodes[(i * 2)..]) : (short)0;
            result[i] = fields[i] with { Format = format };
        }
        return result;
    }

    /// <summary>
    /// Masks the values of one DataRow body in place; the number of values masked. Throws
    /// <see cref="ProtocolViolationException"/> when the row does not fit its own lengths.
    /// </summary>
    public int Apply(Span<byte> row)
    {
        if (row.Length < 2)
        {
            ProtocolViolationException.Throw("DataRow too short");
        }
        int count = BinaryPrimitives.ReadInt16BigEndian(row);
        int position = 2;
        int masked = 0;
        for (int i = 0; i < count; i++)
        {
            if (row.Length - position < 4)
            {
                ProtocolViolationException.Throw("DataRow too short");
            }
            int length = BinaryPrimitives.ReadInt32BigEndian(row[position..]);
            position += 4;
            if (length < 0)
            {
                continue;
            }
            if (row.Length - position < length)
            {
                ProtocolViolationException.Throw("DataRow value longer than the row");
            }

            var value = row.Slice(position, length);
            position += length;
            if (_everything is not null)
            {
                _everything.Mask(value);
                MaskedCounts[0]++;
                masked++;
                continue;
            }
            if (i >= _columns.Length)
            {
                ProtocolViolationException.Throw("DataRow has more columns than its RowDescription");
            }

            ref readonly var column = ref _columns[i];
            if (column.Masker is { } masker)
            {
                PgValueMask.Mask(value, column.Binary, column.TypeOid, masker);
                MaskedCounts[i]++;
                masked++;
            }
            else if (column.Scanner is { } scanner && scanner.MaskInPlace(PgValueMask.ScannedPart(value, column.Binary, column.TypeOid)) > 0)
            {
                MaskedCounts[i]++;
                masked++;
            }
        }
        return masked;
    }

    /// <summary>Masked counts by column name (for the recording), then the counters are reset.</summary>
    public IReadOnlyDictionary<string, long> TakeCounts()
    {
        if (MaskedCounts.AsSpan().IndexOfAnyExcept(0L) < 0)
        {
            return NothingMasked;
        }
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < MaskedCounts.Length; i++)
        {
            if (MaskedCounts[i] > 0)
            {
                string name = _everything is not null ? "*" : i < Names.Length ? Names[i] : "#" + i;
                counts[name] = counts.GetValueOrDefault(name) + MaskedCounts[i];
                MaskedCounts[i] = 0;
            }
        }
        return counts;
    }

    private static readonly Dictionary<string, long> NothingMasked = [];

    private readonly record struct Column(ValueMasker? Masker, ContentScanner? Scanner, bool Binary, uint TypeOid);
}
