using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Wire.Enforcement.Masking;
using Wire.Gateway.Demo;
using Wire.Postgres.Enforcement;
using Wire.Postgres.Protocol;

namespace Wire.Benchmarks.Pg;

/// <summary>
/// Masking a captured result stream in place (issue 3: 0 B per DataRow with a mask plan): every DataRow of 10,000
/// rows of (id, email, ssn, note) walked with no plan work, with two columns masked by rule, and with the detectors
/// on the note column. The masked bytes are restored between iterations so each run sees the original values.
/// </summary>
[MemoryDiagnoser]
public class PgMaskBenchmarks
{
    private byte[] _captured = [];
    private byte[] _work = [];
    private (int Offset, int Length)[] _rows = [];
    private PgMaskPlan _none = null!;
    private PgMaskPlan _twoColumns = null!;
    private PgMaskPlan _detectors = null!;

    [GlobalSetup]
    public void Setup()
    {
        _captured = Task.Run(async () =>
        {
            await using var server = await LocalPostgresServer.StartAsync(new LocalPostgresServerOptions(), default).ConfigureAwait(false);
            return await PgCapture.CaptureAsync(
                server,
                "postgres",
                "SELECT g AS id, 'user' || g || '@example.com' AS email, lpad((g % 900 + 100)::text, 3, '0') || '-45-6789' AS ssn, " +
                "'customer since 2019, prefers email contact' AS note FROM generate_series(1, 10000) g")
                .ConfigureAwait(false);
        }).GetAwaiter().GetResult();
        _work = (byte[])_captured.Clone();

        var rows = new List<(int, int)>();
        PgField[] fields = [];
        for (int offset = 0; offset + 5 <= _captured.Length;)
        {
            byte type = _captured[offset];
            int length = BinaryPrimitives.ReadInt32BigEndian(_captured.AsSpan(offset + 1));
            if (type == (byte)'T')
            {
                fields = PgRowDescription.Read(_captured.AsSpan(offset + 5, length - 4));
            }
            else if (type == (byte)'D')
            {
                rows.Add((offset + 5, length - 4));
            }
            offset += 1 + length;
        }
        _rows = [.. rows];
        Console.WriteLine($"// {_rows.Length} DataRows, {_captured.Length} bytes");

        var full = new ValueMasker(MaskStyle.Full);
        var scanner = new ContentScanner(DetectorKinds.All, MaskStyle.Full);
        string[] names = ["id", "email", "ssn", "note"];
        _none = PgMaskPlan.Create(fields, names, (_, _) => (null, null));
        _twoColumns = PgMaskPlan.Create(fields, names, (i, _) => i is 1 or 2 ? (full, null) : (null, null));
        _detectors = PgMaskPlan.Create(fields, names, (i, _) => i == 3 ? (null, scanner) : (null, null));
    }

    [IterationSetup]
    public void Restore() => _captured.CopyTo(_work, 0);

    [Benchmark(Baseline = true)]
    public void NoMaskWork() => Apply(_none);

    [Benchmark]
    public void TwoColumnsMasked() => Apply(_twoColumns);

    [Benchmark]
    public void DetectorsOnTextColumn() => Apply(_detectors);

    private void Apply(PgMaskPlan plan)
    {
        foreach (var (offset, length) in _rows)
        {
            plan.Apply(_work.AsSpan(offset, length));
        }
    }
}
