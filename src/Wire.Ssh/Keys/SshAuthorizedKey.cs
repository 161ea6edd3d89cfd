using System.Collections.ObjectModel;
using System.Text;

namespace Wire.Ssh.Keys;

/// <summary>
/// One line of an OpenSSH authorized_keys file (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"):
/// <c>[options] keytype base64key [comment]</c>, for example
/// <c>from="10.0.0.0/8",command="uptime",no-pty ssh-ed25519 AAAA... alice@laptop</c>.
/// </summary>
/// <param name="Key">The public key.</param>
/// <param name="Options">
/// The options by lower-case name (looked up case-insensitively): the unquoted value, or null for a flag such as
/// <c>no-pty</c>. Empty when the line has none.
/// </param>
/// <param name="Comment">The comment after the key, or null.</param>
public sealed record SshAuthorizedKey(SshPublicKey Key, IReadOnlyDictionary<string, string?> Options, string? Comment)
{
    /// <summary>
    /// Reads one authorized_keys line. Options are comma-separated <c>name</c> or <c>name="value"</c> (a value may hold
    /// commas, spaces and <c>\"</c>); an option given twice is refused. Keys other than ssh-ed25519,
    /// ecdsa-sha2-nistp256 and ssh-rsa, and malformed lines, throw <see cref="FormatException"/> naming the problem.
    /// </summary>
    public static SshAuthorizedKey Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var rest = line.AsSpan().Trim();
        if (rest.IsEmpty || rest[0] == '#')
        {
            throw new FormatException("an empty or comment line holds no key");
        }
        var first = NextToken(ref rest);
        IReadOnlyDictionary<string, string?> options;
        ReadOnlySpan<char> type;
        if (LooksLikeKeyType(first))
        {
            options = ReadOnlyDictionary<string, string?>.Empty;
            type = first;
        }
        else
        {
            options = ParseOptions(first);
            type = NextToken(ref rest);
            if (type.IsEmpty)
            {
                throw new FormatException("no key type after the options");
            }
        }
        if (!type.SequenceEqual(SshPublicKey.Ed25519) && !type.SequenceEqual(SshPublicKey.EcdsaP256) && !type.SequenceEqual(SshPublicKey.Rsa))
        {
            throw new FormatException($"unsupported key type {Shorten(type)}: only ssh-ed25519, ecdsa-sha2-nistp256 and ssh-rsa keys are supported");
        }
        var base64 = NextToken(ref rest);
        if (base64.IsEmpty)
        {
            throw new FormatException($"no key after the key type {type}");
        }
        var blob = new byte[base64.Length * 3 / 4];
        if (!Convert.TryFromBase64Chars(base64, blob, out int written))
        {
            throw new FormatException("the key is not valid base64");
        }
        var key = SshPublicKey.Parse(blob.AsSpan(0, written));
        if (!type.SequenceEqual(key.KeyType))
        {
            throw new FormatException($"the key type field says {type} but the key is {key.KeyType}");
        }
        var comment = rest.Trim();
        return new SshAuthorizedKey(key, options, comment.IsEmpty ? null : comment.ToString());
    }

    // Key type names never look like option names (which are letters, digits and hyphens, none of these prefixes).
    private static bool LooksLikeKeyType(ReadOnlySpan<char> token) =>
        token.StartsWith("ssh-") || token.StartsWith("ecdsa-") || token.StartsWith("sk-") || token.EndsWith("@openssh.com");

    // The next token, ended by a space or tab outside double quotes (options values may hold spaces).
    private static ReadOnlySpan<char> NextToken(scoped ref ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart(" \t");
        bool quoted = false;
        int i = 0;
        for (; i < rest.Length; i++)
        {
            char c = rest[i];
            if (quoted && c == '\\' && i + 1 < rest.Length && rest[i + 1] == '"')
            {
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && (c == ' ' || c == '\t'))
            {
                break;
            }
        }
        var token = rest[..i];
        rest = rest[i..];
        return token;
    }

    private static ReadOnlyDictionary<string, string?> ParseOptions(ReadOnlySpan<char> text)
    {
        var options = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        int i = 0;
        while (true)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '-'))
            {
                i++;
            }
            var name = text[start..i];
            if (name.IsEmpty)
            {
                throw new FormatException(i < text.Length && text[i] is ',' or '='
                    ? "an empty option name (a stray comma?)"
                    : $"a malformed option near {Shorten(text[i..])}: option names are letters, digits and hyphens");
            }
            string? value = null;
            if (i < text.Length && text[i] == '=')
            {
                i++;
                if (i >= text.Length || text[i] != '"')
                {
                    throw new FormatException($"the value of option {Shorten(name)} must be in double quotes");
                }
                i++;
                var builder = new StringBuilder();
                bool closed = false;
                while (i < text.Length)
                {
                    char c = text[i++];
                    if (c == '\\' && i < text.Length && text[i] == '"')
                    {
                        builder.Append('"');
                        i++;
                    }
                    else if (c == '"')
                    {
                        closed = true;
                        break;
                    }
                    else
                    {
                        builder.Append(c);
                    }
                }
                if (!closed)
                {
                    throw new FormatException($"the value of option {Shorten(name)} has no closing quote");
                }
                value = builder.ToString();
            }
            if (!options.TryAdd(name.ToString().ToLowerInvariant(), value))
            {
                throw new FormatException($"option {Shorten(name)} is given more than once");
            }
            if (i == text.Length)
            {
                return options.AsReadOnly();
            }
            if (text[i] != ',')
            {
                throw new FormatException($"option {Shorten(name)} is followed by '{text[i]}' instead of a comma");
            }
            if (++i == text.Length)
            {
                throw new FormatException("the options end with a comma");
            }
        }
    }

    private static string Shorten(ReadOnlySpan<char> value) => value.Length <= 40 ? value.ToString() : string.Concat(value[..40], "...");
}
