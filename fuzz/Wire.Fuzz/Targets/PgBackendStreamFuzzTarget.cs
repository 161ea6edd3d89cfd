namespace Wire.Fuzz.Targets;

/// <summary>
/// Server-to-client bytes after startup: tagged frames read with <c>PgFrameReader.TryReadFrame</c>,
/// ErrorResponse/NoticeResponse bodies decoded with <c>PgErrorFields.Parse</c>.
/// </summary>
public sealed class PgBackendStreamFuzzTarget : IFuzzTarget
{
    public string Name => "pg-backend-stream";

    public void Run(ReadOnlySpan<byte> input) => PgStreamOracle.Run(input, frontend: false);
}
