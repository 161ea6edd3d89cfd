namespace Wire.Benchmarks.Soak;

/// <summary>A soak run's markdown report and whether every criterion passed.</summary>
internal sealed record SoakResult(string Markdown, bool Passed);
