using System.Text;

namespace Wire.Http.Proxy;

/// <summary>
/// Picks a request's target: the target whose <c>hosts</c> match its Host, else the longest matching
/// <c>pathPrefix</c>, else the only target if there is one; otherwise none (404).
/// </summary>
internal sealed class HttpRouter(IReadOnlyList<HttpTargetOptions> targets)
{
    /// <summary>The index of the target for <paramref name="host"/> (Host field, port allowed) and <paramref name="path"/>, or -1.</summary>
    public int Route(ReadOnlySpan<byte> host, ReadOnlySpan<byte> path)
    {
        var name = HostName(host);
        for (int i = 0; i < targets.Count; i++)
        {
            foreach (var pattern in targets[i].Hosts)
            {
                if (HostMatches(pattern, name))
                {
                    return i;
                }
            }
        }

        int best = -1;
        int bestLength = -1;
        for (int i = 0; i < targets.Count; i++)
        {
            if (targets[i].PathPrefix is { } prefix && PrefixMatches(prefix, path) && prefix.Length > bestLength)
            {
                best = i;
                bestLength = prefix.Length;
            }
        }
        return best >= 0 ? best : targets.Count == 1 ? 0 : -1;
    }

    /// <summary>Whether <paramref name="prefix"/> covers <paramref name="path"/> on a segment boundary (<c>/api</c> covers <c>/api/x</c>, not <c>/apix</c>).</summary>
    public static bool PrefixMatches(string prefix, ReadOnlySpan<byte> path)
    {
        var trimmed = prefix.AsSpan().TrimEnd('/');
        if (trimmed.IsEmpty)
        {
            return true;
        }
        if (path.Length < trimmed.Length || !Ascii.Equals(path[..trimmed.Length], trimmed))
        {
            return false;
        }
        return path.Length == trimmed.Length || path[trimmed.Length] is (byte)'/' or (byte)'?';
    }

    /// <summary>The Host field without its port (<c>[v6]</c> literals keep their brackets).</summary>
    public static ReadOnlySpan<byte> HostName(ReadOnlySpan<byte> host)
    {
        if (!host.IsEmpty && host[0] == (byte)'[')
        {
            int close = host.IndexOf((byte)']');
            return close > 0 ? host[..(close + 1)] : host;
        }
        int colon = host.LastIndexOf((byte)':');
        return colon >= 0 ? host[..colon] : host;
    }

    private static bool HostMatches(string pattern, ReadOnlySpan<byte> host)
    {
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            var suffix = pattern.AsSpan(1);
            return host.Length > suffix.Length && Ascii.EqualsIgnoreCase(host[^suffix.Length..], suffix);
        }
        return Ascii.EqualsIgnoreCase(host, pattern);
    }
}
