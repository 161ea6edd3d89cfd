using System.Buffers;
using BenchmarkDotNet.Attributes;
using Wire.Gateway.Demo;
using Wire.Postgres.Protocol;

namespace Wire.Benchmarks.Pg;

/// <summary>
/// Frame scanning of a captured result stream (what the upstream-to-client pump does per read
/// batch): one contiguous buffer, and the same bytes in 4 KiB segments as a socket pipe delivers them.
/// </summary>
[MemoryDiagnoser]
public class PgFrameScanBenchmarks
{
    private ReadOnlySequence<byte> _single;
    private ReadOnlySequence<byte> _segmented;

    /// <summary>Bytes in the captured stream (for MB/s).</summary>
    public static long CapturedBytes { get; private set; }

    /// <summary>Frames in the captured stream (for ns/frame).</summary>
    public static int CapturedFrames { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] captured = Task.Run(async () =>
        {
            await using var server = await LocalPostgresServer.StartAsync(new LocalPostgresServerOptions(), default).ConfigureAwait(false);
            return await PgCapture.CaptureAsync(
                server,
                "postgres",
                "SELECT g AS aid, g % 10 AS bid, 0 AS abalance, repeat(' ', 84)::char(84) AS filler FROM generate_series(1, 10000) g")
                .ConfigureAwait(false);
        }).GetAwaiter().GetResult();

        _single = new ReadOnlySequence<byte>(captured);
        _segmented = Segments.Split(captured, 4096);
        CapturedBytes = captured.Length;
        CapturedFrames = CountFrames(_single);
        Console.WriteLine($"// captured {CapturedBytes} bytes in {CapturedFrames} frames");
    }

    [Benchmark(Baseline = true)]
    public long ScanSingleSegment() => Scan(_single);

    [Benchmark]
    public long ScanSegments4K() => Scan(_segmented);

    private static long Scan(in ReadOnlySequence<byte> buffer)
    {
        var scanner = new PgFrameScanner(frontend: false, int.MaxValue - 4);
        if (scanner.Scan(buffer, out var end) != PgScanStatus.NeedMoreData)
        {
            throw new InvalidOperationException(scanner.ViolationReason);
        }

        return buffer.Slice(0, end).Length;
    }

    private static int CountFrames(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        int frames = 0;
        while (PgFrameReader.TryReadFrame(ref reader, int.MaxValue - 4, out _, out _))
        {
            frames++;
        }

        return frames;
    }
}
