using System.Text;
using Wire.Http.Protocol;

namespace Wire.Http.Tests.Protocol;

/// <summary>Writes every callback as a line of text, so tests can compare what the parser reported.</summary>
internal struct RecordingHeadHandler : IHttp1HeadHandler
{
    public RecordingHeadHandler()
    {
    }

    public List<string> Events { get; } = [];

    public readonly void OnRequestLine(Http1Method method, ReadOnlySpan<byte> methodText, ReadOnlySpan<byte> target, Http1Version version) =>
        Events.Add($"{method} {Text(methodText)} {Text(target)} {version}");

    public readonly void OnStatusLine(Http1Version version, int status, ReadOnlySpan<byte> reason) =>
        Events.Add($"{version} {status} {Text(reason)}");

    public readonly void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ReadOnlySpan<byte> line) =>
        Events.Add($"{Text(name)}={Text(value)}|{Text(line)}");

    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
