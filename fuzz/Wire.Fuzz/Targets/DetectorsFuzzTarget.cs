using System.Buffers.Binary;
using System.Text.Unicode;
using Wire.Enforcement.Masking;

namespace Wire.Fuzz.Targets;

/// <summary>
/// The content scanner with every detector, in every mask style. The input is masked twice: whole, as
/// text (any bytes); then read as a value list the way protocols frame column values (a big-endian Int16
/// count, then per value an Int32 length, -1 for NULL, and the bytes: a PostgreSQL DataRow body), each
/// value masked in place inside the buffer. Each masking must keep the length, change bytes only inside
/// the reported ranges and only to <c>*</c> or a digit, keep valid UTF-8 valid, report sorted disjoint
/// ranges that finding alone reports too, and give the same output every time; a breach is a
/// <see cref="FuzzInvariantException"/>. An input that is not a value list escapes, once the checks pass,
/// as the <see cref="ProtocolViolationException"/> the value reader would throw.
/// </summary>
public sealed class DetectorsFuzzTarget : IFuzzTarget
{
    private static readonly byte[] _key = "wire-fuzz-digits-key-0123456789!"u8.ToArray();

    /// <summary>One scanner per style, least strict first, all detectors on.</summary>
    internal static IReadOnlyList<ContentScanner> Scanners { get; } =
        [.. Enum.GetValues<MaskStyle>().Select(style => new ContentScanner(DetectorKinds.All, style, _key))];

    public string Name => "detectors";

    public void Run(ReadOnlySpan<byte> input)
    {
        byte[] bytes = input.ToArray();
        foreach (var scanner in Scanners)
        {
            var masked = CheckMasking(scanner, bytes);

            // Once more on the input where it lies and on a copy from FuzzMemory (both against a guard page in the driver's
            // guard mode): the vectorised trigger scan reads ahead in blocks and must stop at the end it was given.
            var hits = new DetectorHit[(bytes.Length / 6) + 1];
            Require(scanner.FindHits(input, hits) == scanner.FindHits(bytes, hits), "finding depends on where the text lies");
            var copy = FuzzMemory.Copy(input);
            scanner.MaskInPlace(copy.Span);
            Require(copy.Span.SequenceEqual(masked), "masking depends on where the text lies");
        }

        string? violation = CheckValueList(bytes);
        if (violation is not null)
        {
            ProtocolViolationException.Throw(violation);
        }
    }

    /// <summary>
    /// Masks a copy of <paramref name="text"/> with <paramref name="scanner"/> and checks every invariant
    /// of the masking against the original; also masks the middle third as a slice and checks that
    /// nothing outside it changes. Returns the masked copy.
    /// </summary>
    internal static byte[] CheckMasking(ContentScanner scanner, byte[] text)
    {
        // Every range is at least 6 bytes long, so this many always fit.
        var hits = new DetectorHit[(text.Length / 6) + 1];
        var found = new DetectorHit[hits.Length];
        byte[] masked = (byte[])text.Clone();
        int count = scanner.MaskInPlace(masked, hits);
        int foundCount = scanner.FindHits(text, found);
        Require(count <= hits.Length, $"{count} ranges in {text.Length} bytes");
        Require(foundCount == count && found.AsSpan(0, count).SequenceEqual(hits.AsSpan(0, count)), "finding and masking report different ranges");
        CheckMasked(text, masked, hits.AsSpan(0, count), scanner.Style);

        byte[] again = (byte[])text.Clone();
        scanner.MaskInPlace(again);
        Require(again.AsSpan().SequenceEqual(masked), $"masking the same text twice with {scanner.Style} gave different outputs");

        int sliceStart = text.Length / 3;
        int sliceLength = text.Length / 3;
        byte[] sliced = (byte[])text.Clone();
        scanner.MaskInPlace(sliced.AsSpan(sliceStart, sliceLength));
        Require(
            sliced.AsSpan(0, sliceStart).SequenceEqual(text.AsSpan(0, sliceStart))
                && sliced.AsSpan(sliceStart + sliceLength).SequenceEqual(text.AsSpan(sliceStart + sliceLength)),
            "masking a slice changed bytes outside it");
        return masked;
    }

    /// <summary>The invariants of one masking: <paramref name="masked"/> is <paramref name="original"/> masked in <paramref name="ranges"/>.</summary>
    internal static void CheckMasked(ReadOnlySpan<byte> original, ReadOnlySpan<byte> masked, ReadOnlySpan<DetectorHit> ranges, MaskStyle style)
    {
        Require(masked.Length == original.Length, "masking changed the length");
        int previousEnd = 0;
        foreach (var range in ranges)
        {
            Require(range.Start >= previousEnd && range.Length > 0 && range.End <= original.Length, $"range {range} is out of order, empty or out of bounds");
            Require(range.Kinds != DetectorKinds.None && (range.Kinds & ~DetectorKinds.All) == 0, $"range {range} names no detector");
            Require(original[previousEnd..range.Start].SequenceEqual(masked[previousEnd..range.Start]), $"bytes changed before {range}");
            for (int i = range.Start; i < range.End; i++)
            {
                byte now = masked[i];
                Require(now == original[i] || now == '*' || (uint)(now - '0') <= 9, $"byte {i} became 0x{now:X2}");
                Require(style != MaskStyle.Full || now == '*', $"full style left byte {i}");
            }

            previousEnd = range.End;
        }

        Require(original[previousEnd..].SequenceEqual(masked[previousEnd..]), "bytes changed after the last range");
        Require(!Utf8.IsValid(original) || Utf8.IsValid(masked), "valid UTF-8 became invalid");
    }

    /// <summary>Masks the values of <paramref name="bytes"/> read as a value list; returns why it is not one, or null.</summary>
    private static string? CheckValueList(byte[] bytes)
    {
        if (bytes.Length < 2)
        {
            return "value list shorter than its count";
        }

        int count = BinaryPrimitives.ReadInt16BigEndian(bytes);
        if (count < 0)
        {
            return "negative value count";
        }

        foreach (var scanner in Scanners)
        {
            byte[] buffer = (byte[])bytes.Clone();
            int position = 2;
            int framingChecked = 0;
            for (int i = 0; i < count; i++)
            {
                if (bytes.Length - position < 4)
                {
                    return "value length missing";
                }

                int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position));
                position += 4;
                if (length == -1)
                {
                    continue;
                }

                if (length < 0 || length > bytes.Length - position)
                {
                    return "value length out of range";
                }

                // Whatever the values hold, the framing between them is what it was.
                Require(buffer.AsSpan(framingChecked, position - framingChecked).SequenceEqual(bytes.AsSpan(framingChecked, position - framingChecked)), "framing changed");
                framingChecked = position + length;
                var value = buffer.AsSpan(position, length);
                var hits = new DetectorHit[(length / 6) + 1];
                int found = scanner.MaskInPlace(value, hits);
                CheckMasked(bytes.AsSpan(position, length), value, hits.AsSpan(0, found), scanner.Style);
                position += length;
            }

            Require(buffer.AsSpan(framingChecked).SequenceEqual(bytes.AsSpan(framingChecked)), "framing changed");
            if (position != bytes.Length)
            {
                return "bytes after the last value";
            }
        }

        return null;
    }

    private static void Require(bool condition, string finding)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(finding);
        }
    }
}
