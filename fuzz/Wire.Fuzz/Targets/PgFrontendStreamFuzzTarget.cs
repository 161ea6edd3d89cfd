namespace Wire.Fuzz.Targets;

/// <summary>
/// Client-to-server bytes after startup: tagged frames read with <c>PgFrameReader.TryReadFrame</c>,
/// typed with <c>IsFrontendType</c>, ending at Terminate.
/// </summary>
public sealed class PgFrontendStreamFuzzTarget : IFuzzTarget
{
    public string Name => "pg-frontend-stream";

    public void Run(ReadOnlySpan<byte> input) => PgStreamOracle.Run(input, frontend: true);
}
