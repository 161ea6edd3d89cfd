using System.Security.Cryptography;
using System.Text;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Keys;

/// <summary>The verdict of <see cref="SshKnownHosts.Check"/> on a host's key.</summary>
public enum SshHostKeyCheck
{
    /// <summary>A line for the host carries this key.</summary>
    Trusted,

    /// <summary>An <c>@revoked</c> line carries this key: refuse it, whatever the host.</summary>
    Revoked,

    /// <summary>Lines for the host exist, none with this key: the host key changed (or the host is impersonated).</summary>
    Mismatch,

    /// <summary>No line names the host.</summary>
    Unknown,
}

/// <summary>
/// An OpenSSH known_hosts file (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): lines of
/// <c>[@revoked|@cert-authority] hostpatterns keytype base64key [comment]</c>. Host patterns are comma-separated, with
/// <c>*</c> and <c>?</c> wildcards and <c>!</c> negation, <c>[host]:port</c> for ports other than 22, or one hashed name
/// <c>|1|salt|hash</c> (HMAC-SHA1 of the name keyed with the salt). Malformed lines are skipped and counted; keys of
/// types Wire does not use are kept, so that they still make a different key a <see cref="SshHostKeyCheck.Mismatch"/>.
/// </summary>
public sealed class SshKnownHosts
{
    private readonly List<Entry> _entries;

    private SshKnownHosts(List<Entry> entries, int skipped)
    {
        _entries = entries;
        SkippedLines = skipped;
    }

    /// <summary>The lines read (blank, comment and malformed lines not included).</summary>
    public int Count => _entries.Count;

    /// <summary>Malformed lines, skipped.</summary>
    public int SkippedLines { get; }

    /// <summary>Reads a known_hosts file's text; never throws for a bad line.</summary>
    public static SshKnownHosts Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new List<Entry>();
        int skipped = 0;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }
            if (TryParseLine(line) is { } entry)
            {
                entries.Add(entry);
            }
            else
            {
                skipped++;
            }
        }
        return new SshKnownHosts(entries, skipped);
    }

    /// <summary>Reads a known_hosts file.</summary>
    public static SshKnownHosts Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>
    /// Checks <paramref name="key"/> presented by <paramref name="host"/> on <paramref name="port"/>:
    /// <see cref="SshHostKeyCheck.Revoked"/> if an <c>@revoked</c> line carries it; <see cref="SshHostKeyCheck.Trusted"/>
    /// if a line for the host does; <see cref="SshHostKeyCheck.Mismatch"/> if lines for the host exist but none with it;
    /// otherwise <see cref="SshHostKeyCheck.Unknown"/>. <c>@cert-authority</c> lines never match a plain key.
    /// </summary>
    /// <param name="host">The host name or address as the user gave it (compared case-insensitively).</param>
    /// <param name="port">The port: 22 looks up <c>host</c>, any other <c>[host]:port</c>.</param>
    /// <param name="key">The host key presented.</param>
    public SshHostKeyCheck Check(string host, int port, SshPublicKey key)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentNullException.ThrowIfNull(key);
        string name = (port == 22 ? host : $"[{host}]:{port}").ToLowerInvariant();
        byte[]? nameBytes = null;
        bool trusted = false;
        bool mismatch = false;
        foreach (var entry in _entries)
        {
            bool sameKey = key.Blob.SequenceEqual(entry.Blob);
            if (entry.Marker == Marker.Revoked)
            {
                if (sameKey)
                {
                    return SshHostKeyCheck.Revoked;
                }
            }
            else if (entry.Marker == Marker.None && entry.Matches(name, ref nameBytes))
            {
                trusted |= sameKey;
                mismatch |= !sameKey;
            }
        }
        return trusted ? SshHostKeyCheck.Trusted : mismatch ? SshHostKeyCheck.Mismatch : SshHostKeyCheck.Unknown;
    }

    private static Entry? TryParseLine(ReadOnlySpan<char> line)
    {
        var marker = Marker.None;
        var hosts = NextField(ref line);
        if (hosts[0] == '@')
        {
            if (hosts.SequenceEqual("@revoked"))
            {
                marker = Marker.Revoked;
            }
            else if (hosts.SequenceEqual("@cert-authority"))
            {
                marker = Marker.CertAuthority;
            }
            else
            {
                return null;
            }
            hosts = NextField(ref line);
        }
        var type = NextField(ref line);
        var base64 = NextField(ref line);
        if (hosts.IsEmpty || type.IsEmpty || base64.IsEmpty)
        {
            return null;
        }

        // The key: any type, but its blob must name the type of the line's key type field.
        var blob = new byte[base64.Length * 3 / 4];
        if (!Convert.TryFromBase64Chars(base64, blob, out int written))
        {
            return null;
        }
        blob = blob.AsSpan(0, written).ToArray();
        try
        {
            var reader = new SshReader(blob);
            if (!type.SequenceEqual(reader.ReadAscii()))
            {
                return null;
            }
        }
        catch (SshProtocolException)
        {
            return null;
        }

        if (hosts[0] == '|')
        {
            return TryParseHashed(hosts, out var salt, out var hash) ? new Entry(marker, [], salt, hash, blob) : null;
        }
        var patterns = new List<Pattern>();
        foreach (var range in hosts.Split(','))
        {
            var pattern = hosts[range];
            bool negated = !pattern.IsEmpty && pattern[0] == '!';
            if (negated)
            {
                pattern = pattern[1..];
            }
            if (pattern.IsEmpty)
            {
                return null;
            }
            patterns.Add(new Pattern(pattern.ToString().ToLowerInvariant(), negated));
        }
        return new Entry(marker, [.. patterns], null, null, blob);
    }

    // "|1|base64(salt)|base64(HMAC-SHA1(salt, name))", both 20 bytes as OpenSSH writes and requires them.
    private static bool TryParseHashed(ReadOnlySpan<char> field, out byte[] salt, out byte[] hash)
    {
        salt = new byte[20];
        hash = new byte[20];
        if (!field.StartsWith("|1|"))
        {
            return false;
        }
        var rest = field[3..];
        int bar = rest.IndexOf('|');
        return bar > 0
            && Convert.TryFromBase64Chars(rest[..bar], salt, out int saltLength) && saltLength == 20
            && Convert.TryFromBase64Chars(rest[(bar + 1)..], hash, out int hashLength) && hashLength == 20;
    }

    // The next space- or tab-separated field; empty at the end of the line.
    private static ReadOnlySpan<char> NextField(scoped ref ReadOnlySpan<char> line)
    {
        line = line.TrimStart(" \t");
        int end = line.IndexOfAny(' ', '\t');
        if (end < 0)
        {
            end = line.Length;
        }
        var field = line[..end];
        line = line[end..];
        return field;
    }

    // OpenSSH's match_pattern: '*' any run of characters, '?' any one.
    internal static bool Glob(ReadOnlySpan<char> text, ReadOnlySpan<char> pattern)
    {
        int t = 0;
        int p = 0;
        int star = -1;
        int resume = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]))
            {
                t++;
                p++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++resume;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }

    private enum Marker
    {
        None,
        Revoked,
        CertAuthority,
    }

    private readonly record struct Pattern(string Glob, bool Negated);

    private sealed record Entry(Marker Marker, Pattern[] Patterns, byte[]? Salt, byte[]? Hash, byte[] Blob)
    {
        // A negated pattern that matches excludes the line; otherwise any pattern that matches includes it.
        public bool Matches(string name, ref byte[]? nameBytes)
        {
            if (Salt is not null)
            {
                nameBytes ??= Encoding.UTF8.GetBytes(name);
                Span<byte> mac = stackalloc byte[20];
                HMACSHA1.HashData(Salt, nameBytes, mac);
                return mac.SequenceEqual(Hash);
            }
            bool matched = false;
            foreach (var pattern in Patterns)
            {
                if (SshKnownHosts.Glob(name, pattern.Glob))
                {
                    if (pattern.Negated)
                    {
                        return false;
                    }
                    matched = true;
                }
            }
            return matched;
        }
    }
}
