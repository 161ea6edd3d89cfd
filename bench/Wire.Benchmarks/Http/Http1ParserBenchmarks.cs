using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Wire.Http.Protocol;

namespace Wire.Benchmarks.Http;

/// <summary>
/// Request heads as kubectl and a browser send them (the per-request work of the HTTP session before routing):
/// one contiguous buffer, and the same bytes in 64-byte segments (a head split across reads). Handlers are no-op
/// structs, so only the parser is measured.
/// </summary>
[MemoryDiagnoser]
public class Http1ParserBenchmarks
{
    // kubectl get pods -w, as it writes the request (user agent and accept headers of kubectl 1.3x).
    private const string Kubectl =
        "GET /api/v1/namespaces/default/pods?limit=500&watch=true HTTP/1.1\r\n"
        + "Host: 127.0.0.1:6443\r\n"
        + "User-Agent: kubectl/v1.31.0 (linux/amd64) kubernetes/9edcffc\r\n"
        + "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json\r\n"
        + "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl\r\n"
        + "Kubectl-Command: kubectl get\r\n"
        + "Kubectl-Session: 4c7e3d1a-8e0b-4b6b-9c0e-2f1d6f0e9a77\r\n"
        + "Accept-Encoding: gzip\r\n"
        + "\r\n";

    private const string Browser =
        "GET /dashboard/assets/app.4f3c2a.js HTTP/1.1\r\n"
        + "Host: internal.example.com\r\n"
        + "Connection: keep-alive\r\n"
        + "sec-ch-ua: \"Chromium\";v=\"130\", \"Not?A_Brand\";v=\"99\"\r\n"
        + "sec-ch-ua-mobile: ?0\r\n"
        + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n"
        + "sec-ch-ua-platform: \"Linux\"\r\n"
        + "Accept: */*\r\n"
        + "Sec-Fetch-Site: same-origin\r\n"
        + "Sec-Fetch-Mode: no-cors\r\n"
        + "Sec-Fetch-Dest: script\r\n"
        + "Referer: https://internal.example.com/dashboard/\r\n"
        + "Accept-Encoding: gzip, deflate, br, zstd\r\n"
        + "Accept-Language: en-US,en;q=0.9\r\n"
        + "Cookie: session=9f8e7d6c5b4a39281706f5e4d3c2b1a0; theme=dark\r\n"
        + "\r\n";

    private ReadOnlySequence<byte> _kubectl;
    private ReadOnlySequence<byte> _browser;
    private ReadOnlySequence<byte> _browserSegmented;

    /// <summary>Bytes per head, for GB/s.</summary>
    public static int KubectlBytes => Kubectl.Length;

    /// <summary>Bytes per head, for GB/s.</summary>
    public static int BrowserBytes => Browser.Length;

    [GlobalSetup]
    public void Setup()
    {
        _kubectl = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Kubectl));
        _browser = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Browser));
        _browserSegmented = Segments.Split(Encoding.ASCII.GetBytes(Browser), 64);
        Console.WriteLine($"// kubectl head {Kubectl.Length} bytes, browser head {Browser.Length} bytes");
    }

    [Benchmark(Baseline = true)]
    public int KubectlHead() => Parse(_kubectl);

    [Benchmark]
    public int BrowserHead() => Parse(_browser);

    [Benchmark]
    public int BrowserHeadSegments64() => Parse(_browserSegmented);

    private static int Parse(in ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        var handler = new NoOpHandler();
        if (!Http1Parser.TryParseRequestHead(ref reader, ref handler, Http1Limits.Default, out var head))
        {
            throw new InvalidOperationException("incomplete");
        }
        return head.HeadLength + handler.Fields;
    }

    private struct NoOpHandler : IHttp1HeadHandler
    {
        public int Fields;

        public void OnRequestLine(Http1Method method, ReadOnlySpan<byte> methodText, ReadOnlySpan<byte> target, Http1Version version)
        {
        }

        public void OnStatusLine(Http1Version version, int status, ReadOnlySpan<byte> reason)
        {
        }

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ReadOnlySpan<byte> line) => Fields++;
    }
}
