using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Wire.Enforcement.Masking;
using Wire.Postgres.Enforcement;
using Wire.Postgres.Protocol;

namespace Wire.Fuzz;

/// <summary>A DataRow body (values may be NULL) and a per-column choice: 0 leave, 1 mask, 2 scan; plus a binary flag.</summary>
public sealed record MaskedRow(byte[]?[] Values, int[] Actions, bool[] Binary, uint[] Types)
{
    public override string ToString() => $"{Values.Length} values, actions [{string.Join(",", Actions)}]";
}

public static class MaskPlanArbitraries
{
    private static readonly uint[] TypeChoices = [25, 1043, 23, 20, 1700, 3802, 17, 2950, 16];

    public static Arbitrary<MaskedRow> Rows() =>
        (from count in Gen.Choose(0, 12)
         from values in Gen.ArrayOf(Gen.OneOf(
             Gen.Constant<byte[]?>(null),
             ArbMap.Default.GeneratorFor<byte[]>().Select(b => (byte[]?)b),
             Gen.Elements("alice@example.com", "123-45-6789", "4111 1111 1111 1111", "plain", "").Select(t => (byte[]?)System.Text.Encoding.UTF8.GetBytes(t))), count)
         from actions in Gen.ArrayOf(Gen.Choose(0, 2), count)
         from binary in Gen.ArrayOf(ArbMap.Default.GeneratorFor<bool>(), count)
         from types in Gen.ArrayOf(Gen.Elements(TypeChoices), count)
         select new MaskedRow(values, actions, binary, types)).ToArbitrary();
}

/// <summary>
/// Masking a DataRow in place (issue 3): never changes the row's length or any length field, never touches a byte
/// outside a value it was told to mask or scan, and never throws on a well-formed row.
/// </summary>
public sealed class PgMaskPlanProperties
{
    private static readonly ContentScanner Scanner = new(DetectorKinds.All, MaskStyle.Full);
    private static readonly ValueMasker Full = new(MaskStyle.Full);

    [Property(MaxTest = 500, Arbitrary = [typeof(MaskPlanArbitraries)])]
    public void Masking_keeps_lengths_and_touches_only_chosen_values(MaskedRow row)
    {
        var fields = row.Values.Select((_, i) => new PgField(0, 0, row.Types[i], -1, (short)(row.Binary[i] ? 1 : 0))).ToArray();
        var plan = PgMaskPlan.Create(fields, [.. fields.Select((_, i) => "c" + i)], (i, _) => row.Actions[i] switch
        {
            1 => (Full, null),
            2 => (null, Scanner),
            _ => (null, null),
        });

        var body = Build(row.Values);
        var original = body.ToArray();
        plan.Apply(body);

        Assert.Equal(original.Length, body.Length);
        int position = 2;
        Assert.Equal(original.AsSpan(0, 2).ToArray(), body.AsSpan(0, 2).ToArray());
        for (int i = 0; i < row.Values.Length; i++)
        {
            Assert.Equal(original.AsSpan(position, 4).ToArray(), body.AsSpan(position, 4).ToArray());
            int length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(position));
            position += 4;
            if (length < 0)
            {
                continue;
            }
            if (row.Actions[i] == 0)
            {
                Assert.Equal(original.AsSpan(position, length).ToArray(), body.AsSpan(position, length).ToArray());
            }
            position += length;
        }
    }

    [Property(MaxTest = 300)]
    public void Malformed_rows_raise_only_the_protocol_violation(byte[] body)
    {
        var plan = PgMaskPlan.MaskEverything(Full);
        try
        {
            plan.Apply(body);
        }
        catch (ProtocolViolationException)
        {
        }
    }

    [Property(MaxTest = 500)]
    public void Copy_rows_keep_their_length_and_structure(byte[] row, bool csv, bool binary, bool header)
    {
        var format = new PgCopyFormat(csv, csv ? (byte)',' : (byte)'\t', (byte)'"', (byte)'"', header, "t", null, Understood: true);
        var masker = new PgCopyMasker(format, binary, [(Full, null, 25u), (null, Scanner, 25u), (Full, null, 23u)], Full);
        var data = row.ToArray();
        try
        {
            masker.Apply(data);
        }
        catch (ProtocolViolationException)
        {
            return;
        }
        Assert.Equal(row.Length, data.Length);
        for (int i = 0; i < row.Length; i++)
        {
            // Masks write '*' or digits only, never over a delimiter or the row's final line end.
            if (data[i] != row[i])
            {
                Assert.True(data[i] == '*' || data[i] is >= (byte)'0' and <= (byte)'9' || binary, $"byte {i}: {row[i]} -> {data[i]}");
                Assert.False(!binary && !csv && row[i] == format.Delimiter, $"delimiter at {i} was masked");
                Assert.False(!binary && i == row.Length - 1 && row[i] == '\n', "the row's line end was masked");
            }
        }
    }

    private static byte[] Build(byte[]?[] values)
    {
        var stream = new MemoryStream();
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(number, (short)values.Length);
        stream.Write(number[..2]);
        foreach (var value in values)
        {
            BinaryPrimitives.WriteInt32BigEndian(number, value?.Length ?? -1);
            stream.Write(number);
            if (value is not null)
            {
                stream.Write(value);
            }
        }
        return stream.ToArray();
    }
}
