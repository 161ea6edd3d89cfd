using System.Buffers;
using System.Text.Unicode;
using Microsoft.Extensions.Logging;

namespace Wire.Enforcement.Masking;

/// <summary>
/// A host's <see cref="IMasker"/> as Wire calls it: each value it returns is checked against the rules every style keeps
/// (length kept by construction, UTF-8 stays valid, only safe bytes written); a value it broke or threw on is masked
/// with <c>*</c> instead, and the failure logged once.
/// </summary>
internal sealed class CustomMasker(IMasker masker, string name, ILogger logger)
{
    /// <summary>Values up to this long are kept for the check on the stack; longer ones in a pooled array.</summary>
    private const int StackCopy = 256;

    private int _reported;

    public string Name { get; } = name;

    public void Mask(Span<byte> value)
    {
        if (value.IsEmpty)
        {
            return;
        }

        byte[]? rented = null;
        Span<byte> original = value.Length <= StackCopy ? stackalloc byte[StackCopy] : (rented = ArrayPool<byte>.Shared.Rent(value.Length));
        original = original[..value.Length];
        value.CopyTo(original);
        try
        {
            string? failure;
            Exception? exception = null;
            try
            {
                masker.Mask(value);
                failure = Check(original, value);
            }
            catch (Exception e)
            {
                (failure, exception) = ("threw", e);
            }

            if (failure is not null)
            {
                // Never the value as it was, nor what a broken masker left of it.
                value.Fill((byte)'*');
                if (Interlocked.Exchange(ref _reported, 1) == 0)
                {
                    CustomMasking.Log.MaskerFailed(logger, Name, failure, exception);
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Why <paramref name="masked"/> may not go out in place of <paramref name="original"/>; null when it may.</summary>
    private static string? Check(ReadOnlySpan<byte> original, ReadOnlySpan<byte> masked)
    {
        for (int i = 0; i < masked.Length; i++)
        {
            byte b = masked[i];
            if (b != original[i] && b < 0x80 && !IsSafe(b))
            {
                return "wrote a byte a masked value may not hold (a quote, backslash, control character, space or delimiter)";
            }
        }

        return Utf8.IsValid(masked) || !Utf8.IsValid(original) ? null : "broke the value's UTF-8";
    }

    /// <summary>The ASCII bytes a masker may write: letters, digits and <c>* # - _ .</c>.</summary>
    private static bool IsSafe(byte b) => ByteClass.IsLetter(b) || ByteClass.IsDigit(b) || b is (byte)'*' or (byte)'#' or (byte)'-' or (byte)'_' or (byte)'.';
}
