namespace Wire.Benchmarks.EndToEnd;

/// <summary>Summaries of interleaved rounds.</summary>
internal static class Stats
{
    /// <summary>The median (the mean of the middle two for an even count); 0 for none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
