using Wire.Fuzz.Targets;

namespace Wire.Fuzz;

/// <summary>Each fuzz target runs over its seed corpus the way the fuzz driver will run it.</summary>
public sealed class FuzzTargetSeedTests
{
    public static TheoryData<string> TargetNames()
    {
        var names = new TheoryData<string>();
        foreach (var target in FuzzTargets.All)
        {
            names.Add(target.Name);
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Seeds_run_with_only_protocol_violations_escaping(string name)
    {
        var target = FuzzTargets.Get(name);
        var seeds = SeedCorpus.For(name);
        Assert.NotEmpty(seeds);

        int accepted = 0, rejected = 0;
        foreach (var seed in seeds)
        {
            if (FuzzTargets.RunAcceptingViolations(target, seed))
            {
                rejected++;
            }
            else
            {
                accepted++;
            }

            // Every prefix too: truncation is what a fuzzer tries first. A slow target (a session per input) gets a sample.
            int stride = target.IsSlow ? Math.Max(1, seed.Length / 8) : 1;
            for (int n = 0; n < seed.Length; n += stride)
            {
                FuzzTargets.RunAcceptingViolations(target, seed.AsSpan(0, n));
            }
        }

        // The corpus covers both sides of the reader's decision.
        Assert.True(accepted > 0, "no seed is accepted");
        Assert.True(rejected > 0, "no seed is rejected");
    }

    [Fact]
    public void Target_names_are_unique_and_resolvable()
    {
        Assert.Equal(FuzzTargets.All.Count, FuzzTargets.All.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count());
        foreach (var target in FuzzTargets.All)
        {
            Assert.Same(target, FuzzTargets.Get(target.Name));
        }

        Assert.Throws<ArgumentException>(() => FuzzTargets.Get("no-such-target"));
    }

    [Fact]
    public void Valid_seed_streams_decode_to_the_expected_frames()
    {
        var backend = PgStreamOracle.Reference(SeedCorpus.SelectResponse, frontend: false);
        Assert.Null(backend.Violation);
        Assert.Equal("12TDDDCZ"u8.ToArray(), backend.Frames.Select(f => f.Type));
        Assert.Equal(SeedCorpus.SelectResponse.Length, backend.Consumed);

        var frontend = PgStreamOracle.Reference(SeedCorpus.SelectRequest, frontend: true);
        Assert.Null(frontend.Violation);
        Assert.Equal("PBDES"u8.ToArray(), frontend.Frames.Select(f => f.Type));
    }

    [Fact]
    public void Frontend_target_stops_at_Terminate()
    {
        byte[] input = SeedCorpus.Concat(SeedCorpus.Frame((byte)'X'), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        Assert.False(FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("pg-frontend-stream"), input));
    }

    [Fact]
    public void Unknown_types_are_rejected_by_the_stream_targets()
    {
        byte[] backendInFrontend = SeedCorpus.Frame((byte)'Z', [(byte)'I']);
        Assert.True(FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("pg-frontend-stream"), backendInFrontend));
        Assert.False(FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("pg-backend-stream"), backendInFrontend));
    }
}
