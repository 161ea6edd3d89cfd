using BenchmarkDotNet.Attributes;
using Wire.Enforcement.Masking;

namespace Wire.Benchmarks.Masking;

/// <summary>
/// <see cref="ContentScanner"/> over 1 MiB of realistic text (<see cref="DetectorCorpus"/>): without any
/// match (the common case: the pre-filter's speed), and with a sensitive value about every KiB (the
/// verifiers and the masking), for all detectors together and each alone. Throughput = 1 MiB / mean.
/// </summary>
[MemoryDiagnoser]
public class DetectorBenchmarks
{
    private const int Size = 1 << 20;

    private byte[] _clean = [];
    private byte[] _withHits = [];
    private byte[] _work = [];
    private ContentScanner _scanner = null!;

    /// <summary>The detectors enabled: <c>all</c> or one config name.</summary>
    [Params("all", "card", "ssn", "email", "phone", "iban", "aws-key", "jwt", "pem")]
    public string Detectors { get; set; } = "all";

    [GlobalSetup]
    public void Setup()
    {
        _clean = DetectorCorpus.Create(Size);
        _withHits = DetectorCorpus.Create(Size, hitEvery: 1024);
        _work = new byte[Size];
        if (!DetectorNames.TryParse(Detectors, out var kinds))
        {
            throw new InvalidOperationException($"unknown detector {Detectors}");
        }

        _scanner = new ContentScanner(kinds, MaskStyle.Full);
        if (new ContentScanner(DetectorKinds.All, MaskStyle.Full).MaskInPlace(_clean.AsSpan().ToArray()) != 0)
        {
            throw new InvalidOperationException("the clean corpus has a match");
        }

        Console.WriteLine($"// {Detectors}: {_scanner.MaskInPlace(_withHits.AsSpan().ToArray())} ranges in the corpus with hits");
    }

    /// <summary>1 MiB without a match: nothing is written, so the same buffer serves every call.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("no-hits")]
    public int NoHits() => _scanner.MaskInPlace(_clean);

    /// <summary>1 MiB with a match about every KiB, masked in a fresh copy (the copy is <see cref="CopyOnly"/>).</summary>
    [Benchmark]
    [BenchmarkCategory("hits")]
    public int HitEvery1KiB()
    {
        _withHits.CopyTo(_work, 0);
        return _scanner.MaskInPlace(_work);
    }

    /// <summary>The copy <see cref="HitEvery1KiB"/> makes, to subtract.</summary>
    [Benchmark]
    [BenchmarkCategory("hits")]
    public int CopyOnly()
    {
        _withHits.CopyTo(_work, 0);
        return _work[0];
    }
}
