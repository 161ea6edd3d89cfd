namespace Wire.Postgres.Protocol;

/// <summary>One field of a RowDescription: where the column comes from, its type and its format.</summary>
/// <param name="TableOid">The table's OID when the column comes straight from a table (or view) column; 0 for an expression.</param>
/// <param name="AttributeNumber">The column's attribute number in that table; 0 for an expression.</param>
/// <param name="TypeOid">The data type's OID.</param>
/// <param name="TypeLength">The type's size (negative for variable-length types).</param>
/// <param name="Format">0 text, 1 binary (from a statement Describe always 0: the format is not known yet).</param>
internal readonly record struct PgField(uint TableOid, short AttributeNumber, uint TypeOid, short TypeLength, short Format);

/// <summary>
/// Decodes RowDescription ('T') bodies.
/// </summary>
/// <remarks>
/// <code>
/// Int16 field count, then per field: String name, Int32 table OID, Int16 attribute number, Int32 type OID,
/// Int16 type size, Int32 type modifier, Int16 format code
/// </code>
/// https://www.postgresql.org/docs/current/protocol-message-formats.html
/// </remarks>
internal static class PgRowDescription
{
    /// <summary>Reads every field; throws <see cref="ProtocolViolationException"/> when the body is malformed.</summary>
    public static PgField[] Read(ReadOnlySpan<byte> body) => Read(body, out _);

    /// <summary>Reads every field and the column names.</summary>
    public static PgField[] Read(ReadOnlySpan<byte> body, out string[] names)
    {
        var reader = new PgBodyReader(body);
        short count = reader.ReadInt16();
        if (count < 0)
        {
            ProtocolViolationException.Throw("negative field count in RowDescription");
        }

        var fields = new PgField[count];
        names = new string[count];
        for (int i = 0; i < count; i++)
        {
            names[i] = System.Text.Encoding.UTF8.GetString(reader.ReadCStringBytes());
            uint table = (uint)reader.ReadInt32();
            short attribute = reader.ReadInt16();
            uint type = (uint)reader.ReadInt32();
            short length = reader.ReadInt16();
            reader.ReadInt32();
            short format = reader.ReadInt16();
            if (format is not (0 or 1))
            {
                ProtocolViolationException.Throw("invalid format code in RowDescription");
            }
            fields[i] = new PgField(table, attribute, type, length, format);
        }
        reader.EnsureEnd();
        return fields;
    }
}
