namespace Wire.Benchmarks.Soak;

/// <summary>One pass/fail criterion of a soak run and the figures it was judged on.</summary>
internal sealed record SoakCheck(string Criterion, bool Passed, string Measured);
