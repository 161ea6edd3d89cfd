using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Wire.Enforcement.Identity;

/// <summary>
/// Validates the development tokens listed in config (<c>identity.tokens</c>). Only SHA-256 digests of the
/// tokens are kept, and a presented token is compared against every entry in constant time.
/// </summary>
public sealed class StaticTokenValidator : IIdentityValidator
{
    /// <summary>The <see cref="WireIdentity.Method"/> of identities proven by a static token.</summary>
    public const string MethodName = "static-token";

    // Tokens longer than this are hashed from a pooled buffer instead of the stack.
    private const int MaxStackTokenBytes = 512;

    private readonly Entry[] _entries;

    /// <summary>Creates a validator for <paramref name="tokens"/>.</summary>
    /// <param name="tokens">The configured tokens.</param>
    /// <exception cref="ArgumentException">
    /// A token is empty, a subject is empty, or two entries share a token (the message names the subjects, never the token).
    /// </exception>
    public StaticTokenValidator(IEnumerable<StaticToken> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);

        var entries = new List<Entry>();
        foreach (var token in tokens)
        {
            ArgumentNullException.ThrowIfNull(token, nameof(tokens));
            if (string.IsNullOrWhiteSpace(token.Subject))
            {
                throw new ArgumentException("A static token has an empty subject.", nameof(tokens));
            }
            if (string.IsNullOrEmpty(token.Token))
            {
                throw new ArgumentException($"The static token for subject '{token.Subject}' is empty.", nameof(tokens));
            }

            var digest = SHA256.HashData(Encoding.UTF8.GetBytes(token.Token));
            foreach (var existing in entries)
            {
                // Configuration time, not a secret comparison against client input: a plain comparison is fine.
                if (existing.Digest.AsSpan().SequenceEqual(digest))
                {
                    throw new ArgumentException(
                        $"The static tokens for subjects '{existing.Identity.Subject}' and '{token.Subject}' are identical; each token must be unique.",
                        nameof(tokens));
                }
            }

            var groups = token.Groups is null ? [] : token.Groups.ToArray();
            entries.Add(new Entry(digest, new WireIdentity(token.Subject, groups, MethodName)));
        }
        _entries = entries.ToArray();
    }

    /// <summary>The number of configured tokens.</summary>
    internal int Count => _entries.Length;

    /// <inheritdoc />
    public ValueTask<IdentityValidationResult> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<IdentityValidationResult>(Validate(token));
    }

    /// <summary>Validates <paramref name="token"/> synchronously; see <see cref="ValidateAsync"/>.</summary>
    /// <param name="token">The presented token.</param>
    /// <returns>The identity bound to the token, or a failure.</returns>
    internal IdentityValidationResult Validate(string token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return IdentityValidationResult.Failure("empty token");
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        HashToken(token, digest);

        // Visit every entry whatever matches, so timing reveals neither whether nor where a match was found.
        var match = -1;
        for (var i = 0; i < _entries.Length; i++)
        {
            var equal = CryptographicOperations.FixedTimeEquals(digest, _entries[i].Digest);
            match = equal ? i : match;
        }

        return match >= 0
            ? IdentityValidationResult.Success(_entries[match].Identity)
            : IdentityValidationResult.Failure("unknown static token");
    }

    private static void HashToken(string token, Span<byte> digest)
    {
        var byteCount = Encoding.UTF8.GetMaxByteCount(token.Length);
        byte[]? rented = null;
        var buffer = byteCount <= MaxStackTokenBytes
            ? stackalloc byte[MaxStackTokenBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(byteCount));
        try
        {
            var written = Encoding.UTF8.GetBytes(token, buffer);
            SHA256.HashData(buffer[..written], digest);
        }
        finally
        {
            // The buffer held the secret; do not leave it in the stack or the pool.
            CryptographicOperations.ZeroMemory(buffer);
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private sealed record Entry(byte[] Digest, WireIdentity Identity);
}
