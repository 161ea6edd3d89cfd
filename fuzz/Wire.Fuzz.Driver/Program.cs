using System.Globalization;
using SharpFuzz;
using Wire.Fuzz.Targets;

namespace Wire.Fuzz.Driver;

/// <summary>
/// The fuzz driver: one process per target under afl-fuzz (SharpFuzz's out-of-process fork server), and the modes
/// that run inputs without AFL. See fuzz/README.md; <c>fuzz/run</c> is the one command that uses it.
/// </summary>
public static class Program
{
    private const string Usage = """
        usage: Wire.Fuzz.Driver TARGET                      run TARGET under afl-fuzz (input on stdin)
               Wire.Fuzz.Driver --list                      the targets, one a line: name, afl-fuzz timeout in ms
               Wire.Fuzz.Driver --seeds TARGET DIR          write TARGET's seed corpus (from the test vectors) into DIR
               Wire.Fuzz.Driver --replay TARGET PATH...     run files (directories: every file in them) once each
               Wire.Fuzz.Driver --guard TARGET PATH...      the same, each input flush against a PROT_NONE page
               Wire.Fuzz.Driver --guard-selftest            read one byte past a guarded buffer: must die of SIGSEGV
        exit status: 0 when every input ends accepted or with a protocol violation; 1 when one throws anything else
        """;

    /// <summary>Entry point; see <see cref="Usage"/>.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.Error.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        // Until SharpFuzz points it at afl-fuzz's map, branches count into a scratch one (instrumented copies included).
        CoverageMap.Attach();
        try
        {
            return args[0] switch
            {
                "--list" => List(),
                "--seeds" when args.Length == 3 => Seeds(FuzzTargets.Get(args[1]), args[2]),
                "--replay" when args.Length >= 3 => InputRunner.Replay(FuzzTargets.Get(args[1]), args[2..]),
                "--guard" when args.Length >= 3 => InputRunner.Guard(FuzzTargets.Get(args[1]), args[2..]),
                "--guard-selftest" => InputRunner.GuardSelfTest(),
                ['-', ..] => Fail("unknown option or wrong arguments: " + string.Join(' ', args)),
                _ when args.Length == 1 => Afl(FuzzTargets.Get(args[0])),
                _ => Fail("one target name expected"),
            };
        }
        catch (ArgumentException e) when (e.ParamName == "name")
        {
            return Fail(e.Message + " Targets: " + string.Join(", ", FuzzTargets.All.Select(t => t.Name)));
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("Wire.Fuzz.Driver: " + message);
        Console.Error.WriteLine(Usage);
        return 2;
    }

    private static int List()
    {
        foreach (var target in FuzzTargets.All)
        {
            // A session per input needs more than the microseconds a parser does; dotnet's start-up needs seconds anyway.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{target.Name} {(target.IsSlow ? 10000 : 5000)}"));
        }
        return 0;
    }

    private static int Seeds(IFuzzTarget target, string directory)
    {
        Directory.CreateDirectory(directory);
        var seeds = SeedCorpus.For(target.Name);
        for (int i = 0; i < seeds.Count; i++)
        {
            File.WriteAllBytes(Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seed-{i:D3}")), seeds[i]);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{target.Name}: {seeds.Count} seeds in {directory}"));
        return 0;
    }

    /// <summary>
    /// Under afl-fuzz: SharpFuzz's fork server restarts this process as a child that runs one input per request from
    /// stdin. A protocol violation is an accepted outcome; any other exception escapes to SharpFuzz, which reports
    /// the input to afl-fuzz as a crash (and a process that dies, a fault on a guard page or a stack overflow, is one
    /// too). Outside afl-fuzz the input on stdin runs once.
    /// </summary>
    private static int Afl(IFuzzTarget target)
    {
        var buffer = new MemoryStream();
        Fuzzer.OutOfProcess.Run(stream =>
        {
            buffer.SetLength(0);
            stream.CopyTo(buffer);
            FuzzTargets.RunAcceptingViolations(target, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        });
        return 0;
    }
}
