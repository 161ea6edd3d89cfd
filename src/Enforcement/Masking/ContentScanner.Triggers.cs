using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Wire.Enforcement.Masking;

/// <content>
/// The pre-filter: SIMD compares that mark, 64 positions at a time, where a trigger starts. Anchors of
/// up to four bytes are tested with four overlapping loads (each position against its own byte and the
/// next three). Numbers are tested on bit masks (one bit per byte: digit, space or hyphen, separator)
/// with 32 bytes of look-ahead, so only digit runs shaped like a match's first or last group mark
/// anything: dates, times, ids, amounts and zip codes do not.
/// </content>
public sealed partial class ContentScanner
{
    /// <summary>Positions one call of <see cref="Triggers"/> marks.</summary>
    private const int BlockSize = 64;

    /// <summary>Bytes read past a block: number shapes look 12 bytes ahead, read 32 at a time.</summary>
    private const int TriggerLookAhead = 32;

    private static TriggerKinds TriggersFor(DetectorKinds detectors)
    {
        var triggers = TriggerKinds.None;
        if ((detectors & NumberKinds) != 0)
        {
            triggers |= TriggerKinds.Digits;
        }

        if ((detectors & DetectorKinds.Phone) != 0)
        {
            triggers |= TriggerKinds.Plus;
        }

        if ((detectors & DetectorKinds.Email) != 0)
        {
            triggers |= TriggerKinds.At;
        }

        if ((detectors & DetectorKinds.Iban) != 0)
        {
            triggers |= TriggerKinds.Iban;
        }

        if ((detectors & DetectorKinds.AwsKey) != 0)
        {
            triggers |= TriggerKinds.AwsKey;
        }

        if ((detectors & DetectorKinds.Jwt) != 0)
        {
            triggers |= TriggerKinds.Jwt;
        }

        if ((detectors & DetectorKinds.Pem) != 0)
        {
            triggers |= TriggerKinds.Pem;
        }

        return triggers;
    }

    /// <summary>
    /// Bit i is set when a trigger of <paramref name="kinds"/> starts at <c>window[i]</c>, for i in 0..63.
    /// </summary>
    /// <param name="window">The block and its look-ahead: at least <see cref="BlockSize"/> + <see cref="TriggerLookAhead"/> bytes.</param>
    /// <param name="kinds">The triggers to mark.</param>
    /// <param name="before">The byte before the block, or 0 at the start of the text.</param>
    private static ulong Triggers(ReadOnlySpan<byte> window, TriggerKinds kinds, byte before)
    {
        ref byte first = ref MemoryMarshal.GetReference(window[..(BlockSize + TriggerLookAhead)]);
        ulong marked = Anchors(ref first, kinds) | ((ulong)Anchors(ref Unsafe.Add(ref first, 32), kinds) << 32);
        if ((kinds & TriggerKinds.Digits) != 0)
        {
            marked |= Numbers(ref first, before);
        }

        return marked;
    }

    /// <summary>
    /// Digit runs that can hold a card, SSN or NANP number, marked at the run's first digit: exactly 4
    /// digits then a space or hyphen and 4 more digits (a card's first group), exactly 4 digits after a
    /// space, hyphen or dot (the last group of <c>123-45-6789</c> or <c>(415) 555-0100</c>), or 13 digits or more.
    /// </summary>
    private static ulong Numbers(ref byte first, byte before)
    {
        Classify(ref first, out uint digits0, out uint joins0, out uint separators0);
        Classify(ref Unsafe.Add(ref first, 32), out uint digits1, out uint joins1, out uint separators1);
        Classify(ref Unsafe.Add(ref first, 64), out uint digitsAhead, out uint joinsAhead, out _);
        ulong digits = digits0 | ((ulong)digits1 << 32);
        ulong groupJoins = joins0 | ((ulong)joins1 << 32);
        ulong separators = separators0 | ((ulong)separators1 << 32);

        ulong runStarts = digits & ~((digits << 1) | (ByteClass.IsDigit(before) ? 1ul : 0ul));
        ulong afterSeparator = (separators << 1) | (before is (byte)' ' or (byte)'-' or (byte)'.' ? 1ul : 0ul);

        // Ahead(m, a, k) has bit i set when byte i + k is in class m (a: the class bits of the look-ahead).
        // Runs double up: bit i of two, four, eight is set when the 2, 4, 8 bytes from i on are all digits.
        uint twoAhead = digitsAhead & (digitsAhead >> 1);
        uint fourAhead = twoAhead & (twoAhead >> 2);
        ulong two = digits & Ahead(digits, digitsAhead, 1);
        ulong four = two & Ahead(two, twoAhead, 2);
        ulong eight = four & Ahead(four, fourAhead, 4);
        ulong thirteen = eight & Ahead(four, fourAhead, 8) & Ahead(digits, digitsAhead, 12);
        ulong exactlyFour = four & ~Ahead(digits, digitsAhead, 4);
        ulong nextGroupOfFour = Ahead(groupJoins, joinsAhead, 4) & Ahead(four, fourAhead, 5);
        return runStarts & ((exactlyFour & (nextGroupOfFour | afterSeparator)) | thirteen);
    }

    /// <summary>The 64-bit mask shifted so bit i holds bit i + <paramref name="k"/>, the look-ahead filling the top.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Ahead(ulong mask, uint ahead, int k) => (mask >> k) | ((ulong)ahead << (64 - k));

    /// <summary>Bit masks of 32 bytes: digits, space or hyphen (card group joins), space, hyphen or dot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Classify(ref byte first, out uint digits, out uint groupJoins, out uint separators)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            var bytes = Vector256.LoadUnsafe(ref first);
            var joins = Vector256.Equals(bytes, Vector256.Create((byte)' ')) | Vector256.Equals(bytes, Vector256.Create((byte)'-'));
            digits = Vector256.LessThan(bytes - Vector256.Create((byte)'0'), Vector256.Create((byte)10)).ExtractMostSignificantBits();
            groupJoins = joins.ExtractMostSignificantBits();
            separators = (joins | Vector256.Equals(bytes, Vector256.Create((byte)'.'))).ExtractMostSignificantBits();
        }
        else
        {
            Classify128(ref first, out digits, out groupJoins, out separators);
            Classify128(ref Unsafe.Add(ref first, 16), out uint highDigits, out uint highJoins, out uint highSeparators);
            digits |= highDigits << 16;
            groupJoins |= highJoins << 16;
            separators |= highSeparators << 16;
        }
    }

    private static void Classify128(ref byte first, out uint digits, out uint groupJoins, out uint separators)
    {
        var bytes = Vector128.LoadUnsafe(ref first);
        var joins = Vector128.Equals(bytes, Vector128.Create((byte)' ')) | Vector128.Equals(bytes, Vector128.Create((byte)'-'));
        digits = Vector128.LessThan(bytes - Vector128.Create((byte)'0'), Vector128.Create((byte)10)).ExtractMostSignificantBits();
        groupJoins = joins.ExtractMostSignificantBits();
        separators = (joins | Vector128.Equals(bytes, Vector128.Create((byte)'.'))).ExtractMostSignificantBits();
    }

    /// <summary>The anchors other than numbers, for 32 positions (reads 35 bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Anchors(ref byte first, TriggerKinds kinds)
    {
        if ((kinds & ~TriggerKinds.Digits) == 0)
        {
            return 0;
        }

        return Vector256.IsHardwareAccelerated
            ? Anchors256(ref first, kinds)
            : Anchors128(ref first, kinds) | (Anchors128(ref Unsafe.Add(ref first, 16), kinds) << 16);
    }

    private static uint Anchors256(ref byte first, TriggerKinds kinds)
    {
        var b0 = Vector256.LoadUnsafe(ref first);
        var b1 = Vector256.LoadUnsafe(ref first, 1);
        var b2 = Vector256.LoadUnsafe(ref first, 2);
        var b3 = Vector256.LoadUnsafe(ref first, 3);

        // Unsigned range tests: (b - '0') < 10 is a digit, (b - 'A') < 26 a capital.
        var zero = Vector256.Create((byte)'0');
        var ten = Vector256.Create((byte)10);
        var marked = Vector256<byte>.Zero;
        if ((kinds & TriggerKinds.Plus) != 0)
        {
            marked |= Vector256.Equals(b0, Vector256.Create((byte)'+')) & Vector256.LessThan(b1 - zero, ten);
        }

        if ((kinds & TriggerKinds.At) != 0)
        {
            marked |= Vector256.Equals(b0, Vector256.Create((byte)'@'));
        }

        if ((kinds & TriggerKinds.Iban) != 0)
        {
            var capitalA = Vector256.Create((byte)'A');
            var letters = Vector256.Create((byte)26);
            marked |= Vector256.LessThan(b0 - capitalA, letters) & Vector256.LessThan(b1 - capitalA, letters)
                & Vector256.LessThan(b2 - zero, ten) & Vector256.LessThan(b3 - zero, ten);
        }

        if ((kinds & TriggerKinds.AwsKey) != 0)
        {
            var a = Vector256.Create((byte)'A');
            var kOrS = Vector256.Equals(b1, Vector256.Create((byte)'K')) | Vector256.Equals(b1, Vector256.Create((byte)'S'));
            marked |= Vector256.Equals(b0, a) & kOrS & Vector256.Equals(b2, Vector256.Create((byte)'I')) & Vector256.Equals(b3, a);
        }

        if ((kinds & TriggerKinds.Jwt) != 0)
        {
            marked |= Vector256.Equals(b0, Vector256.Create((byte)'e'))
                & Vector256.Equals(b1, Vector256.Create((byte)'y'))
                & Vector256.Equals(b2, Vector256.Create((byte)'J'));
        }

        if ((kinds & TriggerKinds.Pem) != 0)
        {
            marked |= Vector256.Equals(b0, Vector256.Create((byte)'-'))
                & Vector256.Equals(b1, Vector256.Create((byte)'B'))
                & Vector256.Equals(b2, Vector256.Create((byte)'E'))
                & Vector256.Equals(b3, Vector256.Create((byte)'G'));
        }

        return marked.ExtractMostSignificantBits();
    }

    private static uint Anchors128(ref byte first, TriggerKinds kinds)
    {
        var b0 = Vector128.LoadUnsafe(ref first);
        var b1 = Vector128.LoadUnsafe(ref first, 1);
        var b2 = Vector128.LoadUnsafe(ref first, 2);
        var b3 = Vector128.LoadUnsafe(ref first, 3);

        var zero = Vector128.Create((byte)'0');
        var ten = Vector128.Create((byte)10);
        var marked = Vector128<byte>.Zero;
        if ((kinds & TriggerKinds.Plus) != 0)
        {
            marked |= Vector128.Equals(b0, Vector128.Create((byte)'+')) & Vector128.LessThan(b1 - zero, ten);
        }

        if ((kinds & TriggerKinds.At) != 0)
        {
            marked |= Vector128.Equals(b0, Vector128.Create((byte)'@'));
        }

        if ((kinds & TriggerKinds.Iban) != 0)
        {
            var capitalA = Vector128.Create((byte)'A');
            var letters = Vector128.Create((byte)26);
            marked |= Vector128.LessThan(b0 - capitalA, letters) & Vector128.LessThan(b1 - capitalA, letters)
                & Vector128.LessThan(b2 - zero, ten) & Vector128.LessThan(b3 - zero, ten);
        }

        if ((kinds & TriggerKinds.AwsKey) != 0)
        {
            var a = Vector128.Create((byte)'A');
            var kOrS = Vector128.Equals(b1, Vector128.Create((byte)'K')) | Vector128.Equals(b1, Vector128.Create((byte)'S'));
            marked |= Vector128.Equals(b0, a) & kOrS & Vector128.Equals(b2, Vector128.Create((byte)'I')) & Vector128.Equals(b3, a);
        }

        if ((kinds & TriggerKinds.Jwt) != 0)
        {
            marked |= Vector128.Equals(b0, Vector128.Create((byte)'e'))
                & Vector128.Equals(b1, Vector128.Create((byte)'y'))
                & Vector128.Equals(b2, Vector128.Create((byte)'J'));
        }

        if ((kinds & TriggerKinds.Pem) != 0)
        {
            marked |= Vector128.Equals(b0, Vector128.Create((byte)'-'))
                & Vector128.Equals(b1, Vector128.Create((byte)'B'))
                & Vector128.Equals(b2, Vector128.Create((byte)'E'))
                & Vector128.Equals(b3, Vector128.Create((byte)'G'));
        }

        return marked.ExtractMostSignificantBits();
    }
}
