using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Wire.Enforcement.Masking;

namespace Wire.Fuzz;

/// <summary>A JSON document (written by System.Text.Json, escapes and all), and where a stream cuts it.</summary>
public sealed record JsonCase(string Json, int Cut)
{
    public override string ToString() => $"{Json} cut at {Cut}";
}

public static class JsonArbitraries
{
    private static readonly string[] Names = ["password", "user", "data", "items", "note", "a.b", "ünï", "x\"y"];

    private static Gen<object?> Node(int depth) => depth <= 0
        ? Leaf()
        : Gen.Frequency(
            (3, Leaf()),
            (1, from count in Gen.Choose(0, 4)
                from names in Gen.ArrayOf(Gen.Elements(Names), count)
                from values in Gen.ArrayOf(Node(depth - 1), count)
                select (object?)Object(names, values)),
            (1, from count in Gen.Choose(0, 4)
                from values in Gen.ArrayOf(Node(depth - 1), count)
                select (object?)values.ToList()));

    private static Dictionary<string, object?> Object(string[] names, object?[] values)
    {
        var o = new Dictionary<string, object?>();
        for (int i = 0; i < names.Length; i++)
        {
            o[names[i]] = values[i];
        }
        return o;
    }

    private static Gen<object?> Leaf() => Gen.OneOf(
        Gen.Elements("plain", "alice@example.com", "123-45-6789", "tab\there", "quote\"and\\slash", "é ✓ \u0001", "").Select(s => (object?)s),
        Gen.Choose(-100000, 100000).Select(i => (object?)i),
        Gen.Elements(0.5, -1e-7, 3.25e10).Select(d => (object?)d),
        Gen.Elements<object?>(true, false, null));

    public static Arbitrary<JsonCase> Cases() =>
        (from root in Node(4)
         let json = JsonSerializer.Serialize(root ?? "top")
         from cut in Gen.Choose(0, Encoding.UTF8.GetByteCount(json))
         select new JsonCase(json, cut)).ToArbitrary();
}

/// <summary>Masking never changes a length, never breaks the JSON, never leaves a named field's value, and does not depend on where the stream is cut.</summary>
public sealed class JsonMaskerProperties
{
    private static readonly (JsonFieldPattern, JsonFieldMask)[] Fields = [Parse("$..password"), Parse("$..['a.b']")];
    private static readonly ContentScanner Scanner = new(DetectorKinds.Email | DetectorKinds.Ssn, new ValueMasker(MaskStyle.Full));

    private static (JsonFieldPattern, JsonFieldMask) Parse(string text)
    {
        JsonFieldPattern.TryParse(text, out var pattern, out _);
        return (pattern!, JsonFieldMask.Full);
    }

    [Property(MaxTest = 400, Arbitrary = [typeof(JsonArbitraries)])]
    public void Masked_json_is_valid_the_same_length_and_the_same_however_cut(JsonCase input)
    {
        var bytes = Encoding.UTF8.GetBytes(input.Json);
        var whole = bytes.ToArray();
        Assert.Equal(whole.Length, new JsonStreamMasker(Fields, Scanner).Process(whole, isFinal: true));

        var masker = new JsonStreamMasker(Fields, Scanner);
        var first = bytes[..input.Cut].ToArray();
        int final = masker.Process(first, isFinal: false);
        var rest = first[final..].Concat(bytes[input.Cut..]).ToArray();
        masker.Process(rest, isFinal: true);
        Assert.Equal(whole, first[..final].Concat(rest).ToArray());

        using var document = JsonDocument.Parse(whole);
        Assert.Equal(bytes.Length, whole.Length);
        AssertNothingLeft(document.RootElement);
        var text = Encoding.UTF8.GetString(whole);
        Assert.DoesNotContain("alice@example.com", text, StringComparison.Ordinal);
        Assert.DoesNotContain("123-45-6789", text, StringComparison.Ordinal);
    }

    private static void AssertNothingLeft(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name is "password" or "a.b")
                {
                    AssertMasked(property.Value);
                }
                AssertNothingLeft(property.Value);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                AssertNothingLeft(item);
            }
        }
    }

    private static void AssertMasked(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                Assert.True(element.GetString()!.All(c => c == '*'), element.GetRawText());
                break;
            case JsonValueKind.Number:
                Assert.True(element.GetRawText().All(c => c is not (>= '0' and <= '8')), element.GetRawText());
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    AssertMasked(property.Value);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    AssertMasked(item);
                }
                break;
        }
    }
}
