using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Masking;

/// <summary>The content detectors a session's mask rules ask for, as one scanner (DESIGN.md §4: every matching mask rule applies, strictest style).</summary>
public static class DetectorRules
{
    /// <summary>A scanner for the union of the rules' <c>detectors</c> with the strictest of their styles; null when no rule names a detector.</summary>
    /// <param name="maskRules">The mask rules that apply to a session.</param>
    /// <param name="key">The masking key (for the <c>digits</c> style).</param>
    public static ContentScanner? Scanner(IReadOnlyList<RuleDefinition> maskRules, ReadOnlySpan<byte> key)
    {
        ArgumentNullException.ThrowIfNull(maskRules);
        var detectors = DetectorKinds.None;
        MaskStyle? style = null;
        foreach (var rule in maskRules)
        {
            var ruleStyle = rule.Style is { } name && MaskStyles.TryParse(name, out var parsed) ? parsed : MaskStyle.Full;
            foreach (var detector in rule.Detectors ?? [])
            {
                if (DetectorNames.TryParse(detector, out var kind))
                {
                    detectors |= kind;
                    style = style is { } current ? MaskStyles.Strictest(current, ruleStyle) : ruleStyle;
                }
            }
        }
        return style is { } chosen ? new ContentScanner(detectors, chosen, key) : null;
    }
}
