using System.Globalization;
using Wire.Fuzz.Targets;

namespace Wire.Fuzz.Driver;

/// <summary>Runs saved inputs without afl-fuzz: as they are (replay), and against guard pages (guard).</summary>
internal static class InputRunner
{
    /// <summary>Runs every input once; prints each failure with its stack. 1 when any input failed.</summary>
    public static int Replay(IFuzzTarget target, IReadOnlyList<string> paths)
    {
        var tally = new Tally(target.Name, "replay");
        foreach (string file in Inputs(paths))
        {
            tally.Add(file, Run(target, File.ReadAllBytes(file)));
        }
        return tally.Report();
    }

    /// <summary>
    /// Runs every input twice, once ending exactly where a PROT_NONE page starts and once starting right after one, with
    /// every copy the target makes through <see cref="FuzzMemory"/> placed the same way. A read out of range through
    /// unsafe code faults: the process dies with SIGSEGV, after the line naming the input on stderr.
    /// </summary>
    public static int Guard(IFuzzTarget target, IReadOnlyList<string> paths)
    {
        var tally = new Tally(target.Name, "guard");
        foreach (string file in Inputs(paths))
        {
            byte[] bytes = File.ReadAllBytes(file);
            foreach (var placement in (GuardPlacement[])[GuardPlacement.EndAtGuard, GuardPlacement.StartAfterGuard])
            {
                Console.Error.WriteLine($"guard: {target.Name} {file} ({bytes.Length} bytes, {placement})");
                using var arena = new GuardedArena(placement);
                var input = arena.Allocate(bytes.Length);
                bytes.CopyTo(input.Span);
                FuzzMemory.Allocator = arena.Allocate;
                try
                {
                    tally.Add(file, Run(target, input.Span));
                }
                finally
                {
                    FuzzMemory.Allocator = null;
                }
            }
        }
        return tally.Report();
    }

    /// <summary>Proves the guard works: reads the byte after a guarded buffer, which must kill the process (SIGSEGV).</summary>
    public static int GuardSelfTest()
    {
        using var arena = new GuardedArena(GuardPlacement.EndAtGuard);
        var buffer = arena.Allocate(10);
        Console.Error.WriteLine("guard self-test: reading one byte past a 10-byte guarded buffer; the process must die now");
        ref byte last = ref buffer.Span[^1];
        byte past = System.Runtime.CompilerServices.Unsafe.Add(ref last, 1);
        Console.WriteLine($"guard self-test FAILED: read 0x{past:X2} past the end without a fault");
        return 1;
    }

    private static Outcome Run(IFuzzTarget target, ReadOnlySpan<byte> input)
    {
        try
        {
            return new Outcome(FuzzTargets.RunAcceptingViolations(target, input) ? "rejected" : "accepted", null);
        }
#pragma warning disable CA1031 // Any exception other than a protocol violation is the finding being looked for.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return new Outcome("FAILED", e);
        }
    }

    /// <summary>Files named, and the files under directories named, in a stable order; hidden files (AFL's) skipped.</summary>
    private static IEnumerable<string> Inputs(IReadOnlyList<string> paths)
    {
        foreach (string path in paths)
        {
            if (Directory.Exists(path))
            {
                foreach (string file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(f => !Path.GetFileName(f).StartsWith('.') && !f.EndsWith(".txt", StringComparison.Ordinal))
                    .Order(StringComparer.Ordinal))
                {
                    yield return file;
                }
            }
            else if (File.Exists(path))
            {
                yield return path;
            }
            else
            {
                throw new FileNotFoundException("no such input file or directory", path);
            }
        }
    }

    private readonly record struct Outcome(string Name, Exception? Error);

    private sealed class Tally(string target, string mode)
    {
        private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

        public void Add(string file, Outcome outcome)
        {
            _counts[outcome.Name] = _counts.GetValueOrDefault(outcome.Name) + 1;
            if (outcome.Error is { } error)
            {
                Console.WriteLine($"{mode}: {target}: {file}: {error.GetType().FullName}: {error.Message}");
                Console.WriteLine(error.ToString());
            }
        }

        public int Report()
        {
            int failed = _counts.GetValueOrDefault("FAILED");
            int total = _counts.Values.Sum();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mode}: {target}: {total} runs, {_counts.GetValueOrDefault("accepted")} accepted, {_counts.GetValueOrDefault("rejected")} rejected, {failed} failed"));
            return failed == 0 && total > 0 ? 0 : 1;
        }
    }
}
