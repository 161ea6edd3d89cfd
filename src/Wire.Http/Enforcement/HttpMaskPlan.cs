using Wire.Enforcement.Masking;
using Wire.Enforcement.Policy;

namespace Wire.Http.Enforcement;

/// <summary>
/// What the mask rules of one request ask of its response body: JSON fields to overwrite and the content detectors for
/// everything else. On a Kubernetes target, a request for Secrets also masks their <c>data</c> (as valid base64 of the
/// same length), <c>stringData</c> and the last-applied-configuration annotation, in objects, lists and watch events.
/// </summary>
internal sealed class HttpMaskPlan
{
    private static readonly (JsonFieldPattern, JsonFieldMask)[] SecretFields =
    [
        Pattern("$.data.*", JsonFieldMask.Base64),
        Pattern("$.items[*].data.*", JsonFieldMask.Base64),
        Pattern("$.object.data.*", JsonFieldMask.Base64),
        Pattern("$.stringData", JsonFieldMask.Full),
        Pattern("$.items[*].stringData", JsonFieldMask.Full),
        Pattern("$.object.stringData", JsonFieldMask.Full),
    ];

    private static readonly (JsonFieldPattern, JsonFieldMask) LastApplied =
        Pattern("$..annotations['kubectl.kubernetes.io/last-applied-configuration']", JsonFieldMask.Full);

    private HttpMaskPlan(IReadOnlyList<(JsonFieldPattern, JsonFieldMask)> fields, ContentScanner? scanner, byte[][] credentials)
    {
        Fields = fields;
        Scanner = scanner;
        Credentials = credentials;
    }

    /// <summary>
    /// Wire's own credential for the target (the whole field value, and the token after its scheme): a target that
    /// echoes request fields back must not hand it to the client or the recording.
    /// </summary>
    public byte[][] Credentials { get; }

    /// <summary>Overwrites every whole occurrence of a credential in <paramref name="text"/> with <c>*</c>.</summary>
    public void ScrubCredentials(Span<byte> text)
    {
        foreach (var credential in Credentials)
        {
            for (int at = text.IndexOf(credential); at >= 0; at = text.IndexOf(credential))
            {
                text.Slice(at, credential.Length).Fill((byte)'*');
            }
        }
    }

    /// <summary>JSON fields and how they are masked.</summary>
    public IReadOnlyList<(JsonFieldPattern Pattern, JsonFieldMask Mask)> Fields { get; }

    /// <summary>The detectors every other string (and text bodies) go through; null for none.</summary>
    public ContentScanner? Scanner { get; }

    /// <summary>The plan for <paramref name="maskRules"/>, or null when none of them has fields or detectors.</summary>
    /// <param name="maskRules">The mask rules that apply to the request's session.</param>
    /// <param name="masking">The host's own detectors and styles the rules may name.</param>
    /// <param name="kubernetesSecrets">Whether the request reads Secrets of a Kubernetes target.</param>
    /// <param name="key">The masking key (for the <c>digits</c> style).</param>
    /// <param name="credential">Wire's credential value for the target, if any.</param>
    public static HttpMaskPlan? Create(IReadOnlyList<RuleDefinition> maskRules, CustomMasking masking, bool kubernetesSecrets, ReadOnlySpan<byte> key,
        string? credential)
    {
        // Only rules that say something about HTTP bodies count: a PostgreSQL column rule without `protocols` must not
        // turn every HTTP route into a masked one (which refuses binary bodies).
        if (!maskRules.Any(r => r.Fields is { Count: > 0 } || r.Detectors is { Count: > 0 }))
        {
            return null;
        }
        // Secret paths first: the first pattern that names a field decides its mask, and Secret data must stay base64.
        var fields = new List<(JsonFieldPattern, JsonFieldMask)>();
        if (kubernetesSecrets)
        {
            fields.AddRange(SecretFields);
        }
        foreach (var rule in maskRules)
        {
            foreach (var field in rule.Fields ?? [])
            {
                fields.Add(Pattern(field, JsonFieldMask.Full));
            }
        }
        // Wherever a mask rule applies on a Kubernetes target, kubectl's copy of the last applied object (which holds
        // the Secret's data in clear) is masked too.
        fields.Add(LastApplied);
        var scanner = DetectorRules.Select(maskRules, masking, out var detectors, out var custom, out var style)
            ? new ContentScanner(detectors, style.CreateMasker(key), custom)
            : null;
        var credentials = new List<byte[]>();
        if (!string.IsNullOrEmpty(credential) && credential.Length >= 8)
        {
            credentials.Add(System.Text.Encoding.UTF8.GetBytes(credential));
            int space = credential.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && credential.Length - space - 1 >= 8)
            {
                credentials.Add(System.Text.Encoding.UTF8.GetBytes(credential[(space + 1)..]));
            }
        }
        return new HttpMaskPlan(fields, scanner, [.. credentials]);
    }

    private static (JsonFieldPattern, JsonFieldMask) Pattern(string text, JsonFieldMask mask) =>
        JsonFieldPattern.TryParse(text, out var pattern, out var error)
            ? (pattern!, mask)
            : throw new InvalidOperationException($"'{text}': {error}"); // rule validation has already refused bad patterns
}
