using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Masking;

/// <summary>The content detectors a session's mask rules ask for, as one scanner (DESIGN.md §4: every matching mask rule applies, strictest style).</summary>
internal static class DetectorRules
{
    /// <summary>A scanner for the union of the rules' <c>detectors</c> with the strictest of their styles; null when no rule names a detector.</summary>
    /// <param name="maskRules">The mask rules that apply to a session.</param>
    /// <param name="key">The masking key (for the <c>digits</c> style).</param>
    /// <remarks>Built-in detectors and styles only; <see cref="Scanner(SessionPolicy, ReadOnlySpan{byte})"/> also runs a host's own.</remarks>
    public static ContentScanner? Scanner(IReadOnlyList<RuleDefinition> maskRules, ReadOnlySpan<byte> key) =>
        Scanner(maskRules, CustomMasking.None, key);

    /// <summary>
    /// A scanner for the union of the <c>detectors</c> of the session's mask rules, built-in and the host's own
    /// (<see cref="RuleSet.Masking"/>), with the strictest of their styles; null when no rule names a detector.
    /// </summary>
    /// <param name="policy">The session's policy: its mask rules and the rule set they came from.</param>
    /// <param name="key">The masking key (for the <c>digits</c> style).</param>
    public static ContentScanner? Scanner(SessionPolicy policy, ReadOnlySpan<byte> key)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return Scanner(policy.MaskRules, policy.Source.Masking, key);
    }

    internal static ContentScanner? Scanner(IReadOnlyList<RuleDefinition> maskRules, CustomMasking masking, ReadOnlySpan<byte> key) =>
        Select(maskRules, masking, out var detectors, out var custom, out var style)
            ? new ContentScanner(detectors, style.CreateMasker(key), custom)
            : null;

    /// <summary>
    /// What the rules' <c>detectors</c> ask for: the built-in detectors, the host's ones, and the strictest style of
    /// the rules that name at least one; false when no rule names a detector.
    /// </summary>
    internal static bool Select(IReadOnlyList<RuleDefinition> maskRules, CustomMasking masking, out DetectorKinds detectors,
        out CustomDetector[] custom, out MaskChoice style)
    {
        ArgumentNullException.ThrowIfNull(maskRules);
        ArgumentNullException.ThrowIfNull(masking);
        detectors = DetectorKinds.None;
        List<CustomDetector>? customs = null;
        MaskChoice? chosen = null;
        foreach (var rule in maskRules)
        {
            var ruleStyle = masking.StyleOf(rule.Style);
            foreach (var name in rule.Detectors ?? [])
            {
                if (DetectorNames.TryParse(name, out var kind))
                {
                    detectors |= kind;
                }
                else if (masking.FindDetector(name) is { } detector)
                {
                    customs ??= [];
                    if (!customs.Contains(detector))
                    {
                        customs.Add(detector);
                    }
                }
                else
                {
                    // Rule validation refuses unknown names; one that got here anyway names nothing to run.
                    continue;
                }

                chosen = chosen is { } current ? MaskChoice.Strictest(current, ruleStyle) : ruleStyle;
            }
        }

        custom = customs is null ? [] : [.. customs];
        style = chosen ?? MaskChoice.Full;
        return chosen is not null;
    }
}
