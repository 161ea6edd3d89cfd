using System.Buffers.Binary;
using Wire.Enforcement.Masking;

namespace Wire.Postgres.Enforcement;

/// <summary>
/// Masks the rows of a <c>COPY ... TO STDOUT</c> in place (one CopyData message per row, as the server sends them):
/// text format split on the delimiter (data never holds a raw delimiter; <c>\N</c> is NULL and kept), CSV split
/// respecting quotes, binary tuples like DataRows. Column rules mask a field whole with <c>*</c> (so no escape or
/// quote survives half-masked); detectors run on the fields they apply to. An option Wire could not read masks whole
/// rows but their line ends.
/// </summary>
internal sealed class PgCopyMasker
{
    // "PGCOPY\n\377\r\n\0": the binary format's signature, first in its header.
    private static readonly byte[] BinarySignature = [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0];

    private readonly PgCopyFormat _format;
    private readonly bool _binary;
    private readonly (ValueMasker? Masker, ContentScanner? Scanner, uint Type)[] _columns;
    private readonly ValueMasker _full;
    private bool _headerPending;

    public PgCopyMasker(PgCopyFormat format, bool binary, (ValueMasker?, ContentScanner?, uint)[] columns, ValueMasker full)
    {
        _format = format;
        _binary = binary;
        _columns = columns;
        _full = full;
        _headerPending = format.Header && !binary;
    }

    public long Masked { get; private set; }

    /// <summary>Masks one CopyData body in place.</summary>
    public void Apply(Span<byte> data)
    {
        if (_binary)
        {
            ApplyBinary(data);
            return;
        }
        if (_headerPending)
        {
            _headerPending = false;
            return;
        }
        if (!_format.Understood)
        {
            MaskWholeRow(data);
            return;
        }

        int column = 0;
        int position = 0;
        while (position <= data.Length)
        {
            int end = _format.Csv ? CsvFieldEnd(data, position) : TextFieldEnd(data, position);
            var field = data[position..end];
            if (column < _columns.Length)
            {
                MaskField(field, _columns[column]);
            }
            else if (_columns.Length > 0 || field.Length > 0)
            {
                // More fields than Wire expected: do not guess which is which.
                _full.Mask(TrimLineEnd(field));
            }
            column++;
            if (end >= data.Length || data[end] != _format.Delimiter)
            {
                break;
            }
            position = end + 1;
        }
    }

    private void MaskField(Span<byte> field, (ValueMasker? Masker, ContentScanner? Scanner, uint Type) column)
    {
        field = TrimLineEnd(field);
        if (field.IsEmpty || (!_format.Csv && field.SequenceEqual("\\N"u8)))
        {
            return;
        }
        if (column.Masker is not null)
        {
            _full.Mask(field);
            Masked++;
        }
        else if (column.Scanner is { } scanner && scanner.MaskInPlace(field) > 0)
        {
            Masked++;
        }
    }

    private static Span<byte> TrimLineEnd(Span<byte> field)
    {
        if (field.Length > 0 && field[^1] == '\n')
        {
            field = field[..^1];
        }
        if (field.Length > 0 && field[^1] == '\r')
        {
            field = field[..^1];
        }
        return field;
    }

    private int TextFieldEnd(ReadOnlySpan<byte> data, int start)
    {
        int index = data[start..].IndexOf(_format.Delimiter);
        return index < 0 ? data.Length : start + index;
    }

    private int CsvFieldEnd(ReadOnlySpan<byte> data, int start)
    {
        if (start < data.Length && data[start] == _format.Quote)
        {
            int i = start + 1;
            while (i < data.Length)
            {
                if (data[i] == _format.Escape && _format.Escape != _format.Quote && i + 1 < data.Length)
                {
                    i += 2;
                    continue;
                }
                if (data[i] == _format.Quote)
                {
                    if (_format.Escape == _format.Quote && i + 1 < data.Length && data[i + 1] == _format.Quote)
                    {
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                i++;
            }
            int index = data[i..].IndexOf(_format.Delimiter);
            return index < 0 ? data.Length : i + index;
        }
        int plain = data[start..].IndexOf(_format.Delimiter);
        return plain < 0 ? data.Length : start + plain;
    }

    private void MaskWholeRow(Span<byte> data)
    {
        var row = TrimLineEnd(data);
        if (row.Length > 0)
        {
            _full.Mask(row);
            Masked++;
        }
    }

    private void ApplyBinary(Span<byte> data)
    {
        if (data.StartsWith(BinarySignature))
        {
            // The header (signature, flags, extension area) shares its message with the first tuple.
            int headerEnd = BinarySignature.Length + 8;
            if (data.Length < headerEnd)
            {
                return;
            }
            int extension = BinaryPrimitives.ReadInt32BigEndian(data[(BinarySignature.Length + 4)..]);
            if (extension < 0 || extension > data.Length - headerEnd)
            {
                ProtocolViolationException.Throw("invalid binary COPY header");
            }
            data = data[(headerEnd + extension)..];
        }
        if (data.Length < 2 || BinaryPrimitives.ReadInt16BigEndian(data) < 0)
        {
            return; // nothing more, or the trailer
        }
        int count = BinaryPrimitives.ReadInt16BigEndian(data);
        int position = 2;
        for (int i = 0; i < count && position + 4 <= data.Length; i++)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(data[position..]);
            position += 4;
            if (length < 0)
            {
                continue;
            }
            if (length > data.Length - position)
            {
                ProtocolViolationException.Throw("binary COPY field longer than its row");
            }
            var value = data.Slice(position, length);
            position += length;
            var column = i < _columns.Length ? _columns[i] : (_full, null, 0u);
            if (column.Masker is { } masker)
            {
                // Without a type (COPY of a query) the value is starred: garbage to a decoder, never the value.
                if (column.Type == 0)
                {
                    masker.Mask(value);
                }
                else
                {
                    PgValueMask.Mask(value, binary: true, column.Type, masker);
                }
                Masked++;
            }
            else if (column.Scanner is { } scanner && PgValueMask.IsScannable(true, column.Type)
                && scanner.MaskInPlace(PgValueMask.ScannedPart(value, true, column.Type)) > 0)
            {
                Masked++;
            }
        }
    }
}
