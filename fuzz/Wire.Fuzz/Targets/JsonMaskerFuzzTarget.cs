using Wire.Enforcement.Masking;

namespace Wire.Fuzz.Targets;

/// <summary>
/// The streaming JSON masker over any bytes: read whole and cut in two at a point taken from the input, the results
/// (masked bytes, or the violation) must agree, and masking never changes the length.
/// </summary>
public sealed class JsonMaskerFuzzTarget : IFuzzTarget
{
    private static readonly (JsonFieldPattern, JsonFieldMask)[] Fields = Create();
    private static readonly ContentScanner Scanner = new(DetectorKinds.Email | DetectorKinds.Ssn | DetectorKinds.Card, new ValueMasker(MaskStyle.Full));

    public string Name => "json-masker";

    private static (JsonFieldPattern, JsonFieldMask)[] Create()
    {
        JsonFieldPattern.TryParse("$..password", out var password, out _);
        JsonFieldPattern.TryParse("$.items[*].data.*", out var data, out _);
        return [(password!, JsonFieldMask.Full), (data!, JsonFieldMask.Base64)];
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        var whole = FuzzMemory.Copy(input);
        string? wholeError = null;
        try
        {
            new JsonStreamMasker(Fields, Scanner).Process(whole.Span, isFinal: true);
        }
        catch (Wire.Enforcement.ProtocolViolationException e)
        {
            wholeError = e.Message;
        }

        int cut = input.IsEmpty ? 0 : input[0] % (input.Length + 1);
        var first = input[..cut].ToArray();
        string? cutError = null;
        byte[]? streamed = null;
        try
        {
            var masker = new JsonStreamMasker(Fields, Scanner);
            int final = masker.Process(first, isFinal: false);
            var rest = first[final..].Concat(input[cut..].ToArray()).ToArray();
            masker.Process(rest, isFinal: true);
            streamed = [.. first[..final], .. rest];
        }
        catch (Wire.Enforcement.ProtocolViolationException e)
        {
            cutError = e.Message;
        }

        if ((wholeError is null) != (cutError is null) || streamed is not null && !streamed.AsSpan().SequenceEqual(whole.Span))
        {
            throw new FuzzInvariantException("the masking depends on where the stream is cut");
        }
        if (whole.Length != input.Length)
        {
            throw new FuzzInvariantException("masking changed the length");
        }
        if (wholeError is not null)
        {
            throw new Wire.Enforcement.ProtocolViolationException(wholeError);
        }
    }
}
