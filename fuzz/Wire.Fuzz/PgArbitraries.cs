using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Wire.Fuzz.Targets;

namespace Wire.Fuzz;

/// <summary>Valid frames back to back, and where the pipe cuts them.</summary>
public sealed record FrameStream(IReadOnlyList<(byte Type, byte[] Body)> Frames, int[] Cuts)
{
    public byte[] Bytes { get; } = SeedCorpus.Concat(Frames.Select(f => SeedCorpus.Frame(f.Type, f.Body)).ToArray());

    public override string ToString()
    {
        string frames = string.Join(' ', Frames.Select(f => $"{(char)f.Type}:{f.Body.Length}"));
        return $"{Frames.Count} frames [{frames}], cuts [{string.Join(',', Cuts)}]";
    }
}

/// <summary>Arbitrary bytes and where the pipe cuts them.</summary>
public sealed record SegmentedBytes(byte[] Bytes, int[] Cuts)
{
    public override string ToString() => $"{Bytes.Length} bytes {Preview(Bytes)}, cuts [{string.Join(',', Cuts)}]";

    internal static string Preview(byte[] bytes)
        => Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 96))) + (bytes.Length > 96 ? "…" : "");
}

/// <summary>A valid stream damaged by a few random edits (byte flips, length rewrites, truncation, insertion).</summary>
public sealed record MutatedStream(byte[] Bytes, int[] Cuts, string Edits)
{
    public override string ToString()
        => $"{Bytes.Length} bytes after {Edits}: {SegmentedBytes.Preview(Bytes)}, cuts [{string.Join(',', Cuts)}]";
}

/// <summary>Bytes shaped like a startup parameter list, often slightly wrong.</summary>
public sealed record StartupBytes(byte[] Bytes)
{
    public override string ToString() => SegmentedBytes.Preview(Bytes);
}

/// <summary>Bytes shaped like an ErrorResponse/NoticeResponse body, often slightly wrong.</summary>
public sealed record ErrorFieldBytes(byte[] Bytes)
{
    public override string ToString() => SegmentedBytes.Preview(Bytes);
}

/// <summary>
/// Generators for the properties. Large byte arrays come from a generated seed rather than byte by
/// byte, which keeps 2 KiB inputs cheap; a failure is reproduced from FsCheck's replay seed.
/// </summary>
public static class PgArbitraries
{
    private static readonly Gen<byte> AnyByte = Gen.Choose(0, 255).Select(i => (byte)i);

    private static readonly Gen<int> Seed = Gen.Choose(int.MinValue, int.MaxValue);

    public static Gen<(byte Type, byte[] Body)> Frame(IReadOnlyList<byte> types) =>
        from type in Gen.Elements(types.ToArray())
        from length in Gen.Frequency((3, Gen.Choose(0, 16)), (2, Gen.Choose(0, 300)))
        from seed in Seed
        select (type, RandomBytes(seed, length));

    public static Gen<int[]> Cuts(int length) =>
        from count in Gen.Frequency((1, Gen.Constant(0)), (4, Gen.Choose(1, 8)), (1, Gen.Choose(9, 64)))
        from cuts in Gen.ArrayOf(Gen.Choose(0, length), count)
        select cuts.Order().ToArray();

    public static Arbitrary<FrameStream> FrameStreams() =>
        (from count in Gen.Choose(0, 20)
         from frames in Gen.ArrayOf(Frame(PgTypes.Backend), count)
         let length = frames.Sum(f => 5 + f.Body.Length)
         from cuts in Cuts(length)
         select new FrameStream(frames, cuts)).ToArbitrary();

    public static Arbitrary<SegmentedBytes> SegmentedBytes() =>
        (from length in Gen.Frequency((1, Gen.Choose(0, 16)), (3, Gen.Choose(0, 2048)))
         from seed in Seed
         from cuts in Cuts(length)
         select new SegmentedBytes(RandomBytes(seed, length), cuts)).ToArbitrary();

    public static Arbitrary<MutatedStream> MutatedStreams() =>
        (from count in Gen.Choose(1, 12)
         from types in Gen.Elements(PgTypes.Backend, PgTypes.Frontend)
         from frames in Gen.ArrayOf(Frame(types), count)
         from seed in Seed
         from edits in Gen.Choose(1, 4)
         let mutated = Mutate(SeedCorpus.Concat(frames.Select(f => SeedCorpus.Frame(f.Type, f.Body)).ToArray()), seed, edits)
         from cuts in Cuts(mutated.Bytes.Length)
         select new MutatedStream(mutated.Bytes, cuts, mutated.Edits)).ToArbitrary();

    public static Arbitrary<StartupBytes> StartupBytes()
    {
        // Few names, so repeats are common; values from an alphabet that holds NUL, ASCII and broken UTF-8.
        var name = Gen.Elements("user", "database", "options", "application_name", "_pq_.x", "u", "ü");
        var piece = Gen.Frequency(
            (8, Gen.Elements("alice", "", "x", "✓", "db").Select(Encoding.UTF8.GetBytes)),
            (1, Gen.ArrayOf(Gen.Elements<byte>(0, (byte)'a', 0xC3, 0xA9, 0xFF, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0xC0), 3)));
        var pair = from n in name from v in piece select SeedCorpus.Concat(SeedCorpus.CString(n), v, [0]);
        var structured =
            from count in Gen.Choose(0, 4)
            from pairs in Gen.ArrayOf(pair, count)
            from ending in Gen.Frequency(
                (8, Gen.Constant<byte[]>([0])),
                (1, Gen.Elements<byte[]>([], [0, 0], [0, (byte)'x'], [(byte)'u', (byte)'s'])))
            select SeedCorpus.Concat(SeedCorpus.Concat(pairs), ending);
        var noise =
            from length in Gen.Choose(0, 64)
            from bytes in Gen.ArrayOf(Gen.Frequency((3, Gen.Elements<byte>(0, (byte)'a', (byte)'b', (byte)'=')), (1, AnyByte)), length)
            select bytes;
        var random = from length in Gen.Choose(0, 2048) from seed in Seed select RandomBytes(seed, length);
        return Gen.Frequency((5, structured), (3, noise), (1, random)).Select(b => new StartupBytes(b)).ToArbitrary();
    }

    public static Arbitrary<ErrorFieldBytes> ErrorFieldBytes()
    {
        var field =
            from code in Gen.Elements<byte>((byte)'S', (byte)'V', (byte)'C', (byte)'M', (byte)'D', (byte)'H', (byte)'P', 0, 0xFF)
            from value in Gen.Frequency(
                (3, Gen.Elements("ERROR", "FATAL", "42501", "message ✓", "").Select(Encoding.UTF8.GetBytes)),
                (1, Gen.ArrayOf(AnyByte, 4)))
            from terminated in Gen.Frequency((5, Gen.Constant(true)), (1, Gen.Constant(false)))
            select SeedCorpus.Concat([code], value, terminated ? [0] : []);
        var structured =
            from count in Gen.Choose(0, 6)
            from fields in Gen.ArrayOf(field, count)
            from end in Gen.Elements<byte[]>([0], [], [0, 1, 2])
            select SeedCorpus.Concat(SeedCorpus.Concat(fields), end);
        var random = from length in Gen.Choose(0, 2048) from seed in Seed select RandomBytes(seed, length);
        return Gen.Frequency((3, structured), (1, random)).Select(b => new ErrorFieldBytes(b)).ToArbitrary();
    }

    private static byte[] RandomBytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static (byte[] Bytes, string Edits) Mutate(byte[] stream, int seed, int edits)
    {
        var random = new Random(seed);
        var bytes = new List<byte>(stream);
        var log = new List<string>();
        for (int i = 0; i < edits; i++)
        {
            int at = random.Next(bytes.Count + 1);
            switch (random.Next(4))
            {
                case 0 when at < bytes.Count:
                    bytes[at] = (byte)random.Next(256);
                    log.Add($"set@{at}");
                    break;
                case 1:
                    // A plausible length that does not match: small, boundary or huge.
                    int[] lengths = [0, 3, 4, 5, random.Next(4, 64), 1 << 20, (1 << 20) + 1, -1, int.MaxValue];
                    byte[] length = SeedCorpus.Int32(lengths[random.Next(lengths.Length)]);
                    for (int k = 0; k < 4 && at + k < bytes.Count; k++)
                    {
                        bytes[at + k] = length[k];
                    }

                    log.Add($"length@{at}");
                    break;
                case 2:
                    bytes.RemoveRange(at, bytes.Count - at);
                    log.Add($"truncate@{at}");
                    break;
                default:
                    var insert = new byte[random.Next(1, 9)];
                    random.NextBytes(insert);
                    bytes.InsertRange(at, insert);
                    log.Add($"insert{insert.Length}@{at}");
                    break;
            }
        }

        return (bytes.ToArray(), string.Join(' ', log));
    }
}
