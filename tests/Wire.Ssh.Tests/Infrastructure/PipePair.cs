using System.IO.Pipelines;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>Two connected in-memory duplex pipes: what one side writes, the other reads.</summary>
internal sealed class PipePair
{
    private readonly Pipe _aToB = new(new PipeOptions(pauseWriterThreshold: 4 << 20, resumeWriterThreshold: 2 << 20, useSynchronizationContext: false));
    private readonly Pipe _bToA = new(new PipeOptions(pauseWriterThreshold: 4 << 20, resumeWriterThreshold: 2 << 20, useSynchronizationContext: false));

    public PipePair()
    {
        A = new Duplex(_bToA.Reader, _aToB.Writer);
        B = new Duplex(_aToB.Reader, _bToA.Writer);
    }

    public IDuplexPipe A { get; }

    public IDuplexPipe B { get; }

    /// <summary>The raw bytes A sends, for tests that tamper with them: read from here and write to <see cref="ToB"/>.</summary>
    public PipeWriter ToB => _aToB.Writer;

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}
