using System.Buffers;
using Wire.Http.Protocol;

namespace Wire.Fuzz.Targets;

/// <summary>
/// A connection's worth of HTTP/1.1 messages, read as Wire's session reads them: a head, then its body with
/// <see cref="Http1BodyReader"/>, again and again. The input is read once whole and once cut in three at points taken
/// from the input; both readings must report the same heads, fields and body parts.
/// </summary>
public sealed class HttpStreamFuzzTarget(bool requests) : IFuzzTarget
{
    private const int MaxMessages = 64;

    public string Name => requests ? "http-request-stream" : "http-response-stream";

    public void Run(ReadOnlySpan<byte> input)
    {
        var bytes = input.ToArray();
        var whole = Read(new ReadOnlySequence<byte>(FuzzMemory.Copy(input)), out var wholeError);
        int a = bytes.Length == 0 ? 0 : bytes[0] % (bytes.Length + 1);
        int b = bytes.Length == 0 ? 0 : bytes[^1] % (bytes.Length + 1);
        var cut = Read(SequenceCutter.At(bytes, [a, b]), out var cutError);
        if (!whole.SequenceEqual(cut, StringComparer.Ordinal) || wholeError != cutError)
        {
            throw new FuzzInvariantException("the reading depends on how the input was cut");
        }
        if (wholeError is not null)
        {
            throw new Wire.Enforcement.ProtocolViolationException(wholeError);
        }
    }

    private List<string> Read(ReadOnlySequence<byte> input, out string? error)
    {
        var events = new List<string>();
        error = null;
        var reader = new SequenceReader<byte>(input);
        var handler = new Handler(events);
        try
        {
            for (int message = 0; message < MaxMessages; message++)
            {
                Http1BodyKind kind;
                long length;
                if (requests)
                {
                    if (!Http1Parser.TryParseRequestHead(ref reader, ref handler, Http1Limits.Default, out var head))
                    {
                        break;
                    }
                    Check(head.HeadLength > 0 && (head.Body != Http1BodyKind.Chunked || head.Version == Http1Version.Http11), "bad request framing");
                    (kind, length) = (head.Body, head.ContentLength);
                    events.Add(head.ToString());
                }
                else
                {
                    if (!Http1Parser.TryParseResponseHead(ref reader, ref handler, Http1Limits.Default, Http1Method.Get, out var head))
                    {
                        break;
                    }
                    Check(head.Status is >= 100 and <= 599, "bad status");
                    (kind, length) = (head.Body, head.ContentLength);
                    events.Add(head.ToString());
                }
                var body = Http1BodyReader.Create(kind, length, Http1Limits.Default, requests);
                long payload = 0;
                while (!body.IsComplete && body.TryRead(ref reader, out var part, out bool isPayload))
                {
                    Check(part.Length > 0, "an empty body part");
                    if (isPayload)
                    {
                        payload += part.Length;
                    }
                    else
                    {
                        events.Add("framing " + part.Length);
                    }
                }
                events.Add("payload " + payload);
                if (!body.IsComplete)
                {
                    break;
                }
            }
        }
        catch (Wire.Enforcement.ProtocolViolationException e)
        {
            error = e.Message + " " + e.Code;
        }
        events.Add("consumed " + reader.Consumed);
        return events;
    }

    private static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(invariant);
        }
    }

    private readonly struct Handler(List<string> events) : IHttp1HeadHandler
    {
        public void OnRequestLine(Http1Method method, ReadOnlySpan<byte> methodText, ReadOnlySpan<byte> target, Http1Version version)
        {
            Check(methodText.Length > 0 && target.Length > 0, "empty method or target");
            events.Add($"{method} {Convert.ToHexString(methodText)} {Convert.ToHexString(target)} {version}");
        }

        public void OnStatusLine(Http1Version version, int status, ReadOnlySpan<byte> reason) =>
            events.Add($"{version} {status} {Convert.ToHexString(reason)}");

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ReadOnlySpan<byte> line)
        {
            Check(name.Length > 0 && line.StartsWith(name) && line.IndexOfAny((byte)'\r', (byte)'\n') < 0, "a field line is not what it reports");
            events.Add($"{Convert.ToHexString(name)}={Convert.ToHexString(value)}");
        }
    }
}
