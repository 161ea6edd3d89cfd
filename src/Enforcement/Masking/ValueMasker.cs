using System.Security.Cryptography;
using System.Text;

namespace Wire.Enforcement.Masking;

/// <summary>
/// Masks whole values in place with one <see cref="MaskStyle"/> (the columns a rule names, and each
/// range a <see cref="ContentScanner"/> finds), or with a host's own <see cref="IMasker"/> (made by
/// <see cref="CustomMasking"/>). Immutable and thread-safe; build it once per rule set.
/// </summary>
/// <remarks>
/// Every style keeps the length in bytes and only ever writes <c>*</c> or an ASCII digit over the bytes
/// it changes, so a masked value stays valid inside PostgreSQL text and CSV COPY rows and JSON strings
/// (no tab, line break, quote or backslash appears that was not there), and a multi-byte UTF-8
/// character is either kept or has each of its bytes replaced, so valid UTF-8 stays valid.
/// </remarks>
public sealed class ValueMasker
{
    /// <summary>The shortest HMAC key the <see cref="MaskStyle.Digits"/> style accepts, in bytes (32 recommended).</summary>
    public const int MinKeyLength = 16;

    private const int KeptByPartial = 4;
    private const int HashLength = HMACSHA256.HashSizeInBytes;

    private readonly byte[] _key;
    private readonly CustomMasker? _custom;

    /// <summary>Creates a masker for <paramref name="style"/>.</summary>
    /// <param name="style">The style every value is masked with.</param>
    /// <param name="key">The HMAC-SHA256 key the <see cref="MaskStyle.Digits"/> style derives digits with; ignored by the others.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="style"/> is not a defined style.</exception>
    /// <exception cref="ArgumentException">The style is <see cref="MaskStyle.Digits"/> and the key is shorter than <see cref="MinKeyLength"/>.</exception>
    public ValueMasker(MaskStyle style, ReadOnlySpan<byte> key = default)
    {
        if (style is < MaskStyle.Partial or > MaskStyle.Full)
        {
            throw new ArgumentOutOfRangeException(nameof(style), style, "Unknown mask style.");
        }

        if (style == MaskStyle.Digits && key.Length < MinKeyLength)
        {
            throw new ArgumentException($"The digits mask style needs a key of at least {MinKeyLength} bytes.", nameof(key));
        }

        Style = style;
        _key = style == MaskStyle.Digits ? key.ToArray() : [];
    }

    /// <summary>A masker that runs a host's style, checked (see <see cref="IMasker"/>).</summary>
    internal ValueMasker(CustomMasker custom)
    {
        Style = MaskStyle.Full;
        _key = [];
        _custom = custom;
    }

    /// <summary>
    /// The style this masker applies; <see cref="MaskStyle.Full"/> for a host's own style (what a type-aware mask falls
    /// back to for it).
    /// </summary>
    public MaskStyle Style { get; }

    /// <summary>The name of the host's style this masker runs; null for a built-in style.</summary>
    internal string? CustomName => _custom?.Name;

    /// <summary>Masks the whole of <paramref name="value"/> (UTF-8) in place, keeping its length.</summary>
    public void Mask(Span<byte> value)
    {
        switch (Style)
        {
            case MaskStyle.Partial:
                MaskPartial(value);
                break;
            case MaskStyle.Email:
                MaskEmail(value);
                break;
            case MaskStyle.Digits:
                MaskDigits(value);
                break;
            default:
                if (_custom is { } custom)
                {
                    custom.Mask(value);
                }
                else
                {
                    value.Fill((byte)'*');
                }

                break;
        }
    }

    /// <summary>
    /// All but the last 4 characters become <c>*</c>; a value of fewer than 8 characters keeps only its
    /// last half (rounded down), so <c>1234</c> becomes <c>**34</c> rather than staying readable.
    /// </summary>
    private static void MaskPartial(Span<byte> value)
    {
        // Walk back over at most 8 characters; starts[n] is where the n-th character from the end begins.
        Span<int> starts = stackalloc int[(2 * KeptByPartial) + 1];
        starts[0] = value.Length;
        int characters = 0;
        int position = value.Length;
        while (characters < 2 * KeptByPartial && position > 0)
        {
            // An invalid sequence counts as one character; it is masked or kept whole like any other.
            Rune.DecodeLastFromUtf8(value[..position], out _, out int consumed);
            position -= consumed;
            starts[++characters] = position;
        }

        int kept = characters == 2 * KeptByPartial ? KeptByPartial : characters / 2;
        value[..starts[kept]].Fill((byte)'*');
    }

    /// <summary>An address keeps <c>@domain</c>; anything else is masked in full.</summary>
    private static void MaskEmail(Span<byte> value)
    {
        if (EmailDetector.IsAddress(value, out int at))
        {
            value[..at].Fill((byte)'*');
        }
        else
        {
            value.Fill((byte)'*');
        }
    }

    /// <summary>
    /// Digits from HMAC-SHA256(key, value), expanded by re-hashing the previous block when a value has
    /// more digits than one block yields; bytes 250-255 are skipped so each digit is uniform.
    /// </summary>
    private void MaskDigits(Span<byte> value)
    {
        Span<byte> blocks = stackalloc byte[2 * HashLength];
        Span<byte> block = blocks[..HashLength];
        HMACSHA256.HashData(_key, value, block);
        int used = 0;
        for (int i = 0; i < value.Length; i++)
        {
            byte b = value[i];
            if (ByteClass.IsDigit(b))
            {
                byte random;
                do
                {
                    if (used == HashLength)
                    {
                        HMACSHA256.HashData(_key, block, blocks[HashLength..]);
                        blocks[HashLength..].CopyTo(block);
                        used = 0;
                    }

                    random = block[used++];
                }
                while (random >= 250);

                value[i] = (byte)('0' + (random % 10));
            }
            else if (!IsSeparator(b))
            {
                value[i] = (byte)'*';
            }
        }
    }

    /// <summary>Punctuation the digits style keeps, so a masked number keeps its printed shape.</summary>
    private static bool IsSeparator(byte b)
        => b is (byte)' ' or (byte)'-' or (byte)'.' or (byte)'/' or (byte)'(' or (byte)')' or (byte)'+';
}
