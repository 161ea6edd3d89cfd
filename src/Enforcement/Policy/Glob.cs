namespace Wire.Enforcement.Policy;

/// <summary>
/// Glob matching for rule keys: <c>*</c> matches any run of characters (including none), <c>?</c> one character;
/// ASCII case-insensitive, because SQL folds unquoted names and over-matching is the safe side for deny and mask.
/// </summary>
internal static class Glob
{
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        // Iterative matcher with one backtrack point: linear in practice, no recursion, no allocation.
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(text[t])))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
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

    public static bool AnyMatch(IReadOnlyList<string> patterns, string text)
    {
        for (int i = 0; i < patterns.Count; i++)
        {
            if (IsMatch(patterns[i], text))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Matches dotted names part by part from the right, so <c>public.payroll*</c> matches <c>payroll_2024</c> (an
    /// unqualified name can be in any schema) and <c>payroll*</c> matches <c>hr.payroll</c>.
    /// </summary>
    public static bool IsQualifiedMatch(string pattern, string name)
    {
        ReadOnlySpan<char> p = pattern;
        ReadOnlySpan<char> n = name;
        while (true)
        {
            int pd = p.LastIndexOf('.');
            int nd = n.LastIndexOf('.');
            if (!IsMatch(p[(pd + 1)..], n[(nd + 1)..]))
            {
                return false;
            }
            if (pd < 0 || nd < 0)
            {
                return true;
            }
            p = p[..pd];
            n = n[..nd];
        }
    }
}
