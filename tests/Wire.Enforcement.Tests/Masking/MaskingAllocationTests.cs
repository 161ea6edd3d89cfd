using System.Text;
using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class MaskingAllocationTests
{
    [Theory]
    [InlineData(MaskStyle.Full)]
    [InlineData(MaskStyle.Partial)]
    [InlineData(MaskStyle.Email)]
    [InlineData(MaskStyle.Digits)]
    public void A_warm_scan_allocates_nothing_with_or_without_hits(MaskStyle style)
    {
        var scanner = new ContentScanner(DetectorKinds.All, style, DocsKey);
        var masker = new ValueMasker(style, DocsKey);
        byte[] clean = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("2026-11-22T10:15:32Z order 48213 shipped to Springfield ✓\n", 300)));
        byte[] withHits = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(
            string.Join(" ", ContentScannerTests.Samples.Select(s => s.Value)) + " 4111111111111111.bob@example.com\n", 20)));
        byte[] work = new byte[withHits.Length];
        var hits = new DetectorHit[8];

        void Run()
        {
            scanner.MaskInPlace(clean);
            scanner.MaskInPlace(clean, hits);
            scanner.FindHits(clean, hits);
            withHits.CopyTo(work, 0);
            scanner.FindHits(work, hits);
            scanner.MaskInPlace(work, hits);
            withHits.CopyTo(work, 0);
            scanner.MaskInPlace(work);
            masker.Mask(work.AsSpan(0, 100));
        }

        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            Run();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(0, scanner.MaskInPlace(clean));
        Assert.Equal(ContentScannerTests.Samples.Length + 1, scanner.FindHits(withHits.AsSpan(0, withHits.Length / 20), hits));
    }
}
