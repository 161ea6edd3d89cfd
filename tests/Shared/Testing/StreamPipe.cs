using System.IO.Pipelines;

namespace Wire.Testing;

/// <summary>A stream as a duplex pipe, as a host that owns its transport hands connections to Wire (RunAsync).</summary>
internal sealed class StreamPipe(Stream stream) : IDuplexPipe
{
    public PipeReader Input { get; } = PipeReader.Create(stream);

    public PipeWriter Output { get; } = PipeWriter.Create(stream);
}
