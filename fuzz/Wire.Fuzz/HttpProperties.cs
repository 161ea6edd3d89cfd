using System.Buffers;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Wire.Fuzz.Targets;
using Wire.Http.Protocol;

namespace Wire.Fuzz;

/// <summary>A valid HTTP/1.1 request as a client writes it, and where the pipe cuts it.</summary>
public sealed record HttpRequestCase(string Method, string Target, IReadOnlyList<(string Name, string Value)> Fields, byte[] Body, int[]? Chunks,
    int[] Cuts)
{
    public byte[] Bytes { get; } = Build(Method, Target, Fields, Body, Chunks);

    private static byte[] Build(string method, string target, IReadOnlyList<(string Name, string Value)> fields, byte[] body, int[]? chunks)
    {
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\n");
        foreach (var (name, value) in fields)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        head.Append("\r\n");
        var bytes = new List<byte>(Encoding.ASCII.GetBytes(head.ToString()));
        if (chunks is null)
        {
            bytes.AddRange(body);
            return [.. bytes];
        }
        int offset = 0;
        foreach (int size in chunks)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes($"{size:x}\r\n"));
            bytes.AddRange(body.AsSpan(offset, size).ToArray());
            bytes.AddRange("\r\n"u8.ToArray());
            offset += size;
        }
        bytes.AddRange("0\r\n\r\n"u8.ToArray());
        return [.. bytes];
    }

    public override string ToString() =>
        $"{Method} {Target} with {Fields.Count} fields, {Body.Length} body bytes{(Chunks is null ? "" : $" in {Chunks.Length} chunks")}, cuts [{string.Join(',', Cuts)}]";
}

public static class HttpArbitraries
{
    private const string TokenChars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string PathChars = "abcdefghijklmnopqrstuvwxyz0123456789-._~%/?=&";

    private static Gen<string> Text(string alphabet, int min, int max) =>
        from length in Gen.Choose(min, max)
        from chars in Gen.ArrayOf(Gen.Elements(alphabet.ToCharArray()), length)
        select new string(chars);

    // Visible ASCII with inner spaces and tabs; never leading or trailing whitespace (the parser trims it).
    private static readonly Gen<string> FieldValue =
        from inner in Text(" \t!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~", 0, 40)
        from first in Gen.Elements("abcXYZ09\"{".ToCharArray())
        from last in Gen.Elements("abcXYZ09\"}".ToCharArray())
        select inner.Length == 0 ? first.ToString() : first + inner + last;

    private static readonly string[] Reserved = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "expect"];

    public static Arbitrary<HttpRequestCase> Requests() =>
        (from method in Gen.Elements("GET", "POST", "PUT", "PATCH", "DELETE", "X-CUSTOM")
         from path in Text(PathChars, 0, 60)
         from count in Gen.Choose(0, 12)
         from names in Gen.ArrayOf(Text(TokenChars, 1, 20), count)
         from values in Gen.ArrayOf(FieldValue, count)
         from bodyLength in Gen.Frequency((2, Gen.Constant(0)), (3, Gen.Choose(1, 300)))
         from seed in Gen.Choose(0, int.MaxValue)
         from chunked in Gen.Elements(false, true)
         from chunkSeed in Gen.Choose(0, int.MaxValue)
         let body = RandomBytes(seed, bodyLength)
         let chunks = chunked ? Split(chunkSeed, bodyLength) : null
         let fields = names.Zip(values).Where(f => !Reserved.Contains(f.First.ToLowerInvariant())).Select(f => (f.First, f.Second))
             .Prepend(("Host", "wire.test:8080"))
             .Append(chunked ? ("Transfer-Encoding", "chunked") : ("Content-Length", bodyLength.ToString(System.Globalization.CultureInfo.InvariantCulture)))
             .ToList()
         let request = new HttpRequestCase(method, "/" + path, fields, body, chunks, [])
         from cuts in Gen.ArrayOf(Gen.Choose(0, request.Bytes.Length), 3)
         select request with { Cuts = cuts }).ToArbitrary();

    private static byte[] RandomBytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static int[] Split(int seed, int length)
    {
        var random = new Random(seed);
        var sizes = new List<int>();
        while (length > 0)
        {
            int size = random.Next(1, length + 1);
            sizes.Add(size);
            length -= size;
        }
        return [.. sizes];
    }
}

/// <summary>What a client writes is what the parser reports, however the pipe cuts it.</summary>
public sealed class HttpProperties
{
    [Property(MaxTest = 500, Arbitrary = [typeof(HttpArbitraries)])]
    public void A_request_reads_back_as_written_on_any_segmentation(HttpRequestCase request)
    {
        var reader = new SequenceReader<byte>(SequenceCutter.At(request.Bytes, request.Cuts));
        var handler = new Collecting([]);
        Assert.True(Http1Parser.TryParseRequestHead(ref reader, ref handler, Http1Limits.Default, out var head));

        Assert.Equal($"{request.Method} {request.Target}", handler.Events[0]);
        Assert.Equal(request.Fields.Select(f => $"{f.Name}={f.Value}"), handler.Events.Skip(1));
        Assert.Equal(request.Chunks is null ? Http1BodyKind.ContentLength : Http1BodyKind.Chunked, head.Body);

        var body = Http1BodyReader.Create(head.Body, head.ContentLength, Http1Limits.Default, request: true);
        var payload = new List<byte>();
        while (!body.IsComplete && body.TryRead(ref reader, out var part, out bool isPayload))
        {
            if (isPayload)
            {
                payload.AddRange(part.ToArray());
            }
        }
        Assert.True(body.IsComplete);
        Assert.Equal(request.Body, payload);
        Assert.True(reader.End);
    }

    private readonly struct Collecting(List<string> events) : IHttp1HeadHandler
    {
        public List<string> Events => events;

        public void OnRequestLine(Http1Method method, ReadOnlySpan<byte> methodText, ReadOnlySpan<byte> target, Http1Version version) =>
            events.Add($"{Encoding.ASCII.GetString(methodText)} {Encoding.ASCII.GetString(target)}");

        public void OnStatusLine(Http1Version version, int status, ReadOnlySpan<byte> reason) => events.Add($"{status}");

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ReadOnlySpan<byte> line) =>
            events.Add($"{Encoding.ASCII.GetString(name)}={Encoding.ASCII.GetString(value)}");
    }
}
