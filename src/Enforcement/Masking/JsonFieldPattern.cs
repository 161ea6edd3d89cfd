namespace Wire.Enforcement.Masking;

/// <summary>
/// A JSON path glob naming fields to mask: <c>$</c> the root, <c>.name</c> or <c>['name']</c> a member, <c>.*</c> any
/// member or element, <c>[*]</c> any element, <c>..name</c> / <c>..*</c> at any depth below. Examples:
/// <c>$..password</c>, <c>$.items[*].data.*</c>, <c>$..annotations['kubectl.kubernetes.io/last-applied-configuration']</c>.
/// </summary>
internal sealed class JsonFieldPattern
{
    private readonly Step[] _steps;

    private JsonFieldPattern(string text, Step[] steps)
    {
        Text = text;
        _steps = steps;
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    private enum StepKind : byte
    {
        Member,
        AnyMember,
        AnyElement,
    }

    private readonly record struct Step(StepKind Kind, string? Name, bool Deep);

    /// <summary>Parses a pattern; false with a reason when it is not one.</summary>
    public static bool TryParse(string text, out JsonFieldPattern? pattern, out string? error)
    {
        pattern = null;
        error = null;
        if (string.IsNullOrEmpty(text) || text[0] != '$')
        {
            error = "must start with $";
            return false;
        }
        var steps = new List<Step>();
        int i = 1;
        while (i < text.Length)
        {
            bool deep = false;
            if (text[i] == '.')
            {
                i++;
                if (i < text.Length && text[i] == '.')
                {
                    deep = true;
                    i++;
                }
                if (i < text.Length && text[i] == '[')
                {
                    if (!deep)
                    {
                        error = "a '.' must be followed by a name or *";
                        return false;
                    }
                    continue; // "..[" : the bracket step below is deep
                }
                int start = i;
                while (i < text.Length && text[i] is not ('.' or '['))
                {
                    i++;
                }
                string name = text[start..i];
                if (name.Length == 0)
                {
                    error = "an empty member name";
                    return false;
                }
                steps.Add(name == "*" ? new Step(StepKind.AnyMember, null, deep) : new Step(StepKind.Member, name, deep));
                continue;
            }
            if (text[i] == '[')
            {
                if (text.AsSpan(i).StartsWith("[*]"))
                {
                    steps.Add(new Step(StepKind.AnyElement, null, deep || IsDeepBracket(steps, text, i)));
                    i += 3;
                    continue;
                }
                if (i + 1 < text.Length && text[i + 1] is '\'' or '"')
                {
                    char quote = text[i + 1];
                    int end = text.IndexOf(quote, i + 2);
                    if (end < 0 || end + 1 >= text.Length || text[end + 1] != ']')
                    {
                        error = "an unterminated ['name']";
                        return false;
                    }
                    steps.Add(new Step(StepKind.Member, text[(i + 2)..end], deep || IsDeepBracket(steps, text, i)));
                    i = end + 2;
                    continue;
                }
                error = "only [*] and ['name'] are supported in brackets";
                return false;
            }
            error = $"unexpected '{text[i]}'";
            return false;
        }
        if (steps.Count == 0)
        {
            error = "names no field";
            return false;
        }
        pattern = new JsonFieldPattern(text, [.. steps]);
        return true;
    }

    private static bool IsDeepBracket(List<Step> steps, string text, int bracket) => bracket >= 2 && text[bracket - 1] == '.' && text[bracket - 2] == '.';

    /// <summary>
    /// Whether the value at <paramref name="path"/> (from the root: member names, or null for an array element) is named
    /// by the pattern.
    /// </summary>
    public bool Matches(ReadOnlySpan<string?> path) => Match(0, path);

    private bool Match(int step, ReadOnlySpan<string?> path)
    {
        if (step == _steps.Length)
        {
            return path.IsEmpty;
        }
        var s = _steps[step];
        if (!s.Deep)
        {
            return !path.IsEmpty && Fits(s, path[0]) && Match(step + 1, path[1..]);
        }
        for (int k = 0; k < path.Length; k++)
        {
            if (Fits(s, path[k]) && Match(step + 1, path[(k + 1)..]))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Fits(Step step, string? name) => step.Kind switch
    {
        StepKind.Member => name is not null && string.Equals(name, step.Name, StringComparison.Ordinal),
        StepKind.AnyElement => name is null,
        _ => true,
    };
}
