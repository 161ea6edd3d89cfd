namespace Wire.Http.Protocol;

/// <summary>
/// Size limits the HTTP/1.1 readers enforce before they buffer anything (the <c>http.limits</c> config section).
/// A request over a limit is answered 400 and the connection closed; an upstream response over a limit, 502.
/// </summary>
public sealed class Http1Limits
{
    /// <summary>The defaults.</summary>
    public static Http1Limits Default { get; } = new();

    /// <summary>
    /// The largest message head (start line, header fields and the empty line), in bytes. Default 32 KiB, as most
    /// servers accept; the range is 1 KiB to 1 MiB.
    /// </summary>
    public int MaxHeadBytes { get; init; } = 32 * 1024;

    /// <summary>The most header fields in one head (and trailer fields after a chunked body). Default 100.</summary>
    public int MaxHeaderCount { get; init; } = 100;

    /// <summary>
    /// The longest chunk-size line of a chunked body, extensions included, in bytes. Default 4 KiB: a size is at most
    /// 16 hex digits, and nobody needs kilobytes of chunk extensions.
    /// </summary>
    public int MaxChunkLineBytes { get; init; } = 4 * 1024;

    /// <summary>
    /// How much of a denied request's body Wire reads and drops to keep the connection in step. Past this the answer
    /// carries <c>Connection: close</c>. Default 64 KiB.
    /// </summary>
    public long MaxDrainBytes { get; init; } = 64 * 1024;

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of its range.</exception>
    public void Validate()
    {
        if (MaxHeadBytes is < 1024 or > 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxHeadBytes), MaxHeadBytes, "Must be from 1024 to 1048576.");
        }
        if (MaxHeaderCount is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxHeaderCount), MaxHeaderCount, "Must be from 1 to 10000.");
        }
        if (MaxChunkLineBytes is < 32 or > 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxChunkLineBytes), MaxChunkLineBytes, "Must be from 32 to 1048576.");
        }
        if (MaxDrainBytes is < 0 or > 1L << 40)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDrainBytes), MaxDrainBytes, "Must be from 0 to 2^40.");
        }
    }
}
