using System.Text;
using System.Text.Json;
using Wire.Enforcement.Masking;

namespace Wire.Enforcement.Tests.Masking;

public sealed class JsonStreamMaskerTests
{
    private static readonly ContentScanner Detectors = new(DetectorKinds.Email | DetectorKinds.Ssn, new ValueMasker(MaskStyle.Full));

    private static (JsonFieldPattern, JsonFieldMask) Field(string path, JsonFieldMask mask = JsonFieldMask.Full)
    {
        Assert.True(JsonFieldPattern.TryParse(path, out var pattern, out var error), error);
        return (pattern!, mask);
    }

    /// <summary>Masks <paramref name="json"/> whole, then again cut at every point (as a stream would arrive); all results must agree.</summary>
    private static string Mask(string json, (JsonFieldPattern, JsonFieldMask)[] fields, ContentScanner? scanner = null)
    {
        var input = Encoding.UTF8.GetBytes(json);
        var whole = input.ToArray();
        var masker = new JsonStreamMasker(fields, scanner);
        Assert.Equal(whole.Length, masker.Process(whole, isFinal: true));
        for (int cut = 0; cut <= input.Length; cut++)
        {
            Assert.Equal(whole, Streamed(input, cut, fields, scanner));
        }
        return Encoding.UTF8.GetString(whole);
    }

    private static byte[] Streamed(byte[] input, int cut, (JsonFieldPattern, JsonFieldMask)[] fields, ContentScanner? scanner)
    {
        var masker = new JsonStreamMasker(fields, scanner);
        var output = new List<byte>();
        var pending = input[..cut].ToArray();
        int final = masker.Process(pending, isFinal: false);
        output.AddRange(pending[..final]);
        var rest = pending[final..].Concat(input[cut..]).ToArray();
        Assert.Equal(rest.Length, masker.Process(rest, isFinal: true));
        output.AddRange(rest);
        return [.. output];
    }

    [Fact]
    public void Fields_named_by_patterns_are_masked_with_lengths_and_validity_kept()
    {
        const string Json = """{"user":"alice","password":"hunter2","nested":{"password":"x\"y\\z","pin":1234.5e2},"list":[{"password":"p"}],"ok":true}""";
        string masked = Mask(Json, [Field("$..password"), Field("$..pin")]);
        Assert.Equal(Json.Length, masked.Length);
        using var document = JsonDocument.Parse(masked);
        var root = document.RootElement;
        Assert.Equal("alice", root.GetProperty("user").GetString());
        Assert.Equal("*******", root.GetProperty("password").GetString());
        Assert.Equal("*******", root.GetProperty("nested").GetProperty("password").GetString());
        Assert.Equal(9999.9e9, root.GetProperty("nested").GetProperty("pin").GetDouble()); // every digit, exponent too
        Assert.Equal("*", root.GetProperty("list")[0].GetProperty("password").GetString());
        Assert.True(root.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void A_masked_object_masks_everything_inside_and_brackets_name_dotted_members()
    {
        const string Json = """{"secret":{"a":"1","b":[2,"three",{"c":"four"}]},"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"x\":1}","other":"kept"}}}""";
        string masked = Mask(Json, [Field("$.secret"), Field("$..annotations['kubectl.kubernetes.io/last-applied-configuration']")]);
        using var document = JsonDocument.Parse(masked);
        var secret = document.RootElement.GetProperty("secret");
        Assert.Equal("*", secret.GetProperty("a").GetString());
        Assert.Equal(9, secret.GetProperty("b")[0].GetInt32());
        Assert.Equal("*****", secret.GetProperty("b")[1].GetString());
        Assert.Equal("****", secret.GetProperty("b")[2].GetProperty("c").GetString());
        var annotations = document.RootElement.GetProperty("metadata").GetProperty("annotations");
        Assert.Equal(new string('*', 9), annotations.GetProperty("kubectl.kubernetes.io/last-applied-configuration").GetString()); // {\"x\":1} raw
        Assert.Equal("kept", annotations.GetProperty("other").GetString());
    }

    [Fact]
    public void Base64_fields_stay_valid_base64_of_the_same_length_in_lists_and_watch_events()
    {
        string secret = Convert.ToBase64String("s3cr3t-password"u8.ToArray());
        string json =
            "{\"kind\":\"SecretList\",\"items\":[{\"metadata\":{\"name\":\"db\"},\"data\":{\"password\":\"" + secret + "\",\"user\":\"YWRtaW4=\"}}]}\n"
            + "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Secret\",\"data\":{\"token\":\"" + secret + "\"}}}\n";
        var fields = new[] { Field("$.items[*].data.*", JsonFieldMask.Base64), Field("$.object.data.*", JsonFieldMask.Base64) };
        string masked = Mask(json, fields);
        var lines = masked.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var list = JsonDocument.Parse(lines[0]);
        var data = list.RootElement.GetProperty("items")[0].GetProperty("data");
        Assert.Equal(secret.Length, data.GetProperty("password").GetString()!.Length);
        Assert.Equal(new byte[Convert.FromBase64String(secret).Length], Convert.FromBase64String(data.GetProperty("password").GetString()!));
        Assert.Equal("AAAAAAA=", data.GetProperty("user").GetString());
        using var watch = JsonDocument.Parse(lines[1]);
        Assert.DoesNotContain(secret, lines[1], StringComparison.Ordinal);
        Assert.Equal("db", list.RootElement.GetProperty("items")[0].GetProperty("metadata").GetProperty("name").GetString());
    }

    [Fact]
    public void Detectors_see_every_other_string_unescaped()
    {
        const string Json = """{"note":"mail alice@example.com now","escaped":"bob\u0040example.org","ssn":"123-45-6789","name":"alice@example.com"}""";
        string masked = Mask(Json, [], Detectors);
        using var document = JsonDocument.Parse(masked);
        var root = document.RootElement;
        Assert.Equal("mail ***************** now", root.GetProperty("note").GetString());
        Assert.DoesNotContain("bob", root.GetProperty("escaped").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("example.org", root.GetProperty("escaped").GetString(), StringComparison.Ordinal);
        Assert.Equal("***********", root.GetProperty("ssn").GetString());
        Assert.Equal(Json.Length, masked.Length);
        // Member names are never masked.
        Assert.True(root.TryGetProperty("note", out _));
    }

    [Theory]
    [InlineData("{\"a\":}")]
    [InlineData("{\"a\" 1}")]
    [InlineData("[1,]x")]
    [InlineData("{\"a\":tru}")]
    [InlineData("{\"a\":01}")]
    [InlineData("{\"a\":\"\\x\"}")]
    [InlineData("{\"a\":\"\u0001\"}")]
    [InlineData("{\"a\":1")]
    [InlineData("[1 2]")]
    public void Malformed_or_truncated_json_is_refused(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var e = Assert.Throws<ProtocolViolationException>(() => new JsonStreamMasker([Field("$..a")], Detectors).Process(bytes, isFinal: true));
        Assert.Contains("JSON", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$..password", true)]
    [InlineData("$.a.b", true)]
    [InlineData("$.items[*].data.*", true)]
    [InlineData("$..['x.y']", true)]
    [InlineData("password", false)]
    [InlineData("$.", false)]
    [InlineData("$[0]", false)]
    [InlineData("$['unterminated", false)]
    public void Patterns_parse_or_say_why_not(string text, bool valid) =>
        Assert.Equal(valid, JsonFieldPattern.TryParse(text, out _, out _));
}
