using System.Text;
using System.Text.Unicode;
using Microsoft.Extensions.Logging;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Masking;
using Wire.Enforcement.Policy;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

/// <summary>
/// Detectors and mask styles of a host's own (<see cref="IContentDetector"/>, <see cref="IMasker"/>): they run in the
/// scanner beside the built-in detectors with the same merging and lag, streams hold back their longest match, a broken
/// detector or masker fails closed, and rules may name them only when the rule set has them.
/// </summary>
public sealed class CustomDetectorTests
{
    private static readonly WireIdentity Alice = new("alice", ["eng"], "static-token");

    // ---- helpers -------------------------------------------------------------------------------------

    private static CustomMasking Masking(IEnumerable<IContentDetector>? detectors = null, IEnumerable<IMasker>? maskers = null, ILogger? logger = null) =>
        new(detectors ?? [new EmployeeIds()], maskers ?? [new KeepPrefix()], logger);

    /// <summary>A scanner from one mask rule, as a session gets it.</summary>
    private static ContentScanner Scanner(CustomMasking masking, string[] detectors, string? style = null)
    {
        var rules = RuleSet.Create([new RuleDefinition { Name = "m", Action = PolicyAction.Mask, Detectors = detectors, Style = style }], masking: masking);
        return DetectorRules.Scanner(rules.ForSession(WireProtocol.Ssh, "app", Alice), DocsKey)!;
    }

    private static string MaskWith(ContentScanner scanner, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        scanner.MaskInPlace(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    private static byte[] Stream(StreamMasker masker, byte[] input, IEnumerable<int> cuts)
    {
        var output = new List<byte>(input.Length);
        int start = 0;
        foreach (int cut in cuts.Append(input.Length))
        {
            if (cut <= start)
            {
                continue;
            }

            masker.Append(input.AsSpan(start, cut - start));
            start = cut;
            output.AddRange(masker.TakeReady());
            Assert.True(masker.Held <= masker.HoldBack + 3, $"held {masker.Held} bytes with hold-back {masker.HoldBack}");
        }

        output.AddRange(masker.TakeReady(flush: true));
        Assert.Equal(input.Length, output.Count);
        return [.. output];
    }

    // ---- the scanner -----------------------------------------------------------------------------------

    [Fact]
    public void A_custom_detector_masks_its_matches_with_the_rules_style()
    {
        var masking = Masking();
        Assert.Equal("staff EMP-****** and EMP-****** left; xEMP-123456 and EMP-12345 stay",
            MaskWith(Scanner(masking, ["employee-id"], "keep-prefix"), "staff EMP-123456 and EMP-654321 left; xEMP-123456 and EMP-12345 stay"));
        Assert.Equal("id **********.", MaskWith(Scanner(masking, ["employee-id"]), "id EMP-123456."));
        Assert.Equal("id ******3456.", MaskWith(Scanner(masking, ["employee-id"], "partial"), "id EMP-123456."));
    }

    [Fact]
    public void Custom_and_built_in_detectors_run_together_and_overlaps_merge()
    {
        var scanner = Scanner(Masking([new Token("ref-tail", "1111 ref", 16)]), ["card", "ref-tail", "email"]);
        byte[] text = "card 4111 1111 1111 1111 ref and bob@example.com"u8.ToArray();
        var hits = new DetectorHit[4];
        Assert.Equal(2, scanner.FindHits(text, hits));
        Assert.Equal(new DetectorHit(5, 23, DetectorKinds.Card), hits[0]); // the card and the token that overlaps its end: one range
        Assert.Equal(DetectorKinds.Email, hits[1].Kinds);
        Assert.Equal(2, scanner.MaskInPlace(text));
        Assert.Equal("card " + new string('*', 23) + " and " + new string('*', 15), Encoding.UTF8.GetString(text));

        var alone = Scanner(Masking([new Token("ref-tail", "ref", 16)]), ["ref-tail"]);
        Assert.Equal(1, alone.FindHits("a ref"u8, hits));
        Assert.Equal(new DetectorHit(2, 3, DetectorKinds.None), hits[0]); // a range only a host's detector found names no built-in kind
    }

    [Fact]
    public void Property_a_custom_detector_adds_exactly_its_own_matches_to_the_built_in_ones()
    {
        // A seeded random property (the test project does not reference FsCheck): texts of built-in vectors, tokens and
        // noise, any length (so blocks, the tail and long gaps between matches are all crossed). With the full style the
        // masked bytes must be the built-in scan's ranges plus the token's left-to-right occurrences in the original
        // text: a host's detector never reads what another match masked, and never stops the built-in ones.
        string[] words = ["EMP-123456", "4111111111111111", "123-45-6789", "bob@example.com", "AKIAIOSFODNN7EXAMPLE", "(415) 555-0100",
            "EMP-", "EMP", "-EMP-1", "ünï", "電話", "x", " ", "\n", "-", "@", "12", "EMP-EMP-123456"];
        var builtIn = new ContentScanner(DetectorKinds.All, MaskStyle.Full);
        var scanner = Scanner(Masking([new Token("emp", "EMP-1", 5), new Token("dash-at", "-@", 2)]), ["all", "emp", "dash-at"]);
        for (int seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            var text = new StringBuilder();
            int count = random.Next(0, 120);
            for (int i = 0; i < count; i++)
            {
                text.Append(random.Next(6) == 0 ? new string('.', random.Next(1, 200)) : words[random.Next(words.Length)]);
            }

            byte[] input = Encoding.UTF8.GetBytes(text.ToString());
            var expected = new bool[input.Length];
            var found = new DetectorHit[input.Length + 1];
            foreach (var hit in found.AsSpan(0, builtIn.FindHits(input, found)))
            {
                Array.Fill(expected, true, hit.Start, hit.Length);
            }

            foreach (string token in new[] { "EMP-1", "-@" })
            {
                byte[] bytes = Encoding.UTF8.GetBytes(token);
                for (int at = input.AsSpan().IndexOf(bytes); at >= 0;)
                {
                    Array.Fill(expected, true, at, bytes.Length);
                    int next = input.AsSpan(at + bytes.Length).IndexOf(bytes);
                    at = next < 0 ? -1 : at + bytes.Length + next;
                }
            }

            byte[] masked = input.ToArray();
            scanner.MaskInPlace(masked);
            for (int i = 0; i < input.Length; i++)
            {
                Assert.True((masked[i] == (byte)'*') == expected[i] || input[i] == (byte)'*',
                    $"seed {seed}: byte {i} is {(expected[i] ? "not masked" : "masked")} in\n{Encoding.UTF8.GetString(input)}\n{Encoding.UTF8.GetString(masked)}");
            }
        }
    }

    [Fact]
    public void A_warm_scan_with_a_custom_detector_allocates_nothing()
    {
        var scanner = Scanner(Masking(), ["all", "employee-id"], "keep-prefix");
        byte[] text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("order 48213 for EMP-123456 card 4111111111111111 ✓\n", 100)));
        byte[] work = new byte[text.Length];
        var hits = new DetectorHit[8];

        void Run()
        {
            scanner.FindHits(text, hits);
            text.CopyTo(work, 0);
            scanner.MaskInPlace(work);
        }

        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            Run();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(200, scanner.FindHits(text, hits));
    }

    // ---- streams ---------------------------------------------------------------------------------------

    [Fact]
    public void A_custom_match_cut_at_every_offset_of_a_stream_is_masked_as_in_the_whole_text()
    {
        const string Before = "$ grep -r staff /srv/hr\nünïcödé 電話 some words before it, EMP-12 and EMP-9876543 (no ids) then ";
        const string After = " after it\n$ ";
        var scanner = Scanner(Masking(), ["employee-id", "email"], "keep-prefix");
        foreach (string value in new[] { "EMP-123456", "EMP-123456 bob@example.com EMP-000001" })
        {
            byte[] input = Encoding.UTF8.GetBytes(Before + value + After);
            byte[] whole = input.ToArray();
            scanner.MaskInPlace(whole);
            Assert.DoesNotContain("EMP-123456", Encoding.UTF8.GetString(whole), StringComparison.Ordinal);

            for (int cut = 0; cut <= input.Length; cut++)
            {
                Assert.Equal(whole, Stream(new StreamMasker(scanner), input, [cut]));
            }

            Assert.Equal(whole, Stream(new StreamMasker(scanner), input, Enumerable.Range(1, input.Length)));
        }
    }

    [Fact]
    public void A_stream_holds_back_the_longest_custom_match_so_a_long_value_cut_anywhere_never_leaks()
    {
        // A value far longer than the default hold-back: [[secret ...]] of 300 bytes.
        var scanner = Scanner(Masking([new Bracketed()]), ["bracketed"]);
        Assert.Equal(Bracketed.Longest, new StreamMasker(scanner).HoldBack);
        Assert.Equal(StreamMasker.DefaultHoldBack, new StreamMasker(new ContentScanner(DetectorKinds.All, MaskStyle.Full)).HoldBack);

        string secret = "[[" + string.Concat(Enumerable.Range(0, 37).Select(i => $"s{i:D6}.")) + "]]";
        Assert.True(secret.Length is > 256 and <= Bracketed.Longest);
        byte[] input = Encoding.UTF8.GetBytes("log line one\nthe key is " + secret + " and the line goes on\n");
        for (int cut = 0; cut <= input.Length; cut += 3)
        {
            string output = Encoding.UTF8.GetString(Stream(new StreamMasker(scanner), input, [cut, Math.Min(input.Length, cut + 50)]));
            Assert.DoesNotContain("s0", output, StringComparison.Ordinal);
            Assert.Contains("the key is " + new string('*', secret.Length) + " and", output, StringComparison.Ordinal);
        }
    }

    // ---- failures ----------------------------------------------------------------------------------------

    [Fact]
    public void A_detector_that_throws_or_answers_out_of_range_masks_the_rest_of_the_text_and_is_logged_once()
    {
        foreach (var broken in new IContentDetector[] { new Throwing(), new OutOfRange() })
        {
            var logger = new CountingLogger();
            var scanner = Scanner(Masking([broken], logger: logger), ["broken", "email"]);
            Assert.Equal("*****************************", MaskWith(scanner, "bob@example.com and the rest."));
            Assert.Equal("**", MaskWith(scanner, "ok"));
            Assert.Equal("", MaskWith(scanner, ""));
            Assert.Equal(1, logger.Errors);
        }
    }

    [Fact]
    public void A_masker_that_throws_or_writes_unsafe_bytes_gives_the_full_style_and_is_logged_once()
    {
        foreach (var (broken, reason) in new (IMasker, string)[]
        {
            (new ThrowingMasker(), "threw"),
            (new BytesMasker("quote", (byte)'"'), "wrote a byte"),
            (new BytesMasker("backslash", (byte)'\\'), "wrote a byte"),
            (new BytesMasker("tab", (byte)'\t'), "wrote a byte"),
            (new BytesMasker("space", (byte)' '), "wrote a byte"),
            (new BytesMasker("lead-byte", 0xC3), "UTF-8"),
        })
        {
            var logger = new CountingLogger();
            var scanner = Scanner(Masking(maskers: [broken], logger: logger), ["employee-id"], broken.Name);
            Assert.Equal("a ********** and ********** ü", MaskWith(scanner, "a EMP-123456 and EMP-000001 ü"));
            Assert.Equal(1, logger.Errors);
            Assert.Contains(reason, logger.Last, StringComparison.Ordinal);
        }

        // A masker that keeps a multi-byte character whole, or writes one, is fine; so is one that leaves bytes as they were.
        var fine = Scanner(Masking(maskers: [new BytesMasker("hash", (byte)'#')]), ["employee-id"], "hash");
        Assert.Equal("a ########## b", MaskWith(fine, "a EMP-123456 b"));
    }

    [Fact]
    public void A_custom_masker_breaking_utf8_of_a_whole_value_falls_back_to_full()
    {
        var masking = Masking(maskers: [new BytesMasker("cut", 0xE2)]);
        var masker = masking.FindMasker("cut")!;
        byte[] value = "grüße"u8.ToArray();
        masker.Mask(value);
        Assert.Equal("*******"u8.ToArray(), value);
        Assert.Equal(MaskStyle.Full, masker.Style);

        // Bytes that were not valid UTF-8 before need not become valid.
        byte[] invalid = [0xFF, (byte)'a', 0xFE];
        masker.Mask(invalid);
        Assert.Equal(new byte[] { 0xE2, 0xE2, 0xE2 }, invalid);
    }

    // ---- names and rules ---------------------------------------------------------------------------------

    [Theory]
    [InlineData("card", 10, "is the name of a built-in detector")]
    [InlineData("all", 10, "is the name of a built-in detector")]
    [InlineData("Upper", 10, "must be 1 to 32 characters")]
    [InlineData("", 10, "must be 1 to 32 characters")]
    [InlineData("a-name-of-thirty-three-characters", 10, "must be 1 to 32 characters")]
    [InlineData("ok", 0, "MaxLength must be from 1 to 4096")]
    [InlineData("ok", 4097, "MaxLength must be from 1 to 4096")]
    public void Detector_names_and_bounds_are_checked(string name, int maxLength, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => new CustomMasking([new Token(name, "x", maxLength)], []));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Contains("Token", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Styles_and_duplicates_are_checked()
    {
        Assert.Contains("built-in mask style", Assert.Throws<ArgumentException>(() => new CustomMasking([], [new BytesMasker("digits", (byte)'#')])).Message,
            StringComparison.Ordinal);
        Assert.Contains("already named 'x'", Assert.Throws<ArgumentException>(() => new CustomMasking([], [new BytesMasker("x", (byte)'#'), new BytesMasker("x", (byte)'*')])).Message,
            StringComparison.Ordinal);
        Assert.Contains("already named 'x'", Assert.Throws<ArgumentException>(() => new CustomMasking([new Token("x", "a", 1), new Token("x", "b", 1)], [])).Message,
            StringComparison.Ordinal);
        Assert.Contains("at most 32", Assert.Throws<ArgumentException>(() => new CustomMasking(Enumerable.Range(0, 33).Select(i => new Token($"t{i}", "a", 1)), [])).Message,
            StringComparison.Ordinal);

        // A detector and a style may share a name: rules use them under different keys.
        _ = new CustomMasking([new Token("same", "a", 1)], [new BytesMasker("same", (byte)'#')]);
    }

    [Fact]
    public void Rules_may_name_a_hosts_detectors_and_styles_only_when_the_rule_set_has_them()
    {
        RuleDefinition[] rules = [new RuleDefinition { Name = "ids", Action = PolicyAction.Mask, Detectors = ["ssn", "employee-id"], Style = "keep-prefix" }];
        var detector = Assert.Throws<RuleValidationException>(() => RuleSet.Create(rules));
        Assert.Equal("detectors[1]", detector.Key);
        Assert.Contains("must be one of card, ssn, email, phone, iban, aws-key, jwt, pem", detector.Message, StringComparison.Ordinal);

        var masking = Masking();
        var style = Assert.Throws<RuleValidationException>(() => RuleSet.Create(
            [new RuleDefinition { Name = "ids", Action = PolicyAction.Mask, Detectors = ["employee-id"], Style = "keep-suffix" }], masking: masking));
        Assert.Equal("style", style.Key);
        Assert.Contains("must be one of partial, email, digits, full, keep-prefix", style.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<RuleValidationException>(() => RuleSet.Create(
            [new RuleDefinition { Name = "ids", Action = PolicyAction.Mask, Detectors = ["employee-ids"] }], masking: masking));
        Assert.Contains("pem, employee-id", unknown.Message, StringComparison.Ordinal);

        var set = RuleSet.Create(rules, masking: masking);
        Assert.Same(masking, set.Masking);
        Assert.Same(masking, set.WithCustomRules([]).Masking);
        Assert.Same(CustomMasking.None, RuleSet.Create([]).Masking);
        var scanner = DetectorRules.Scanner(set.ForSession(WireProtocol.Http, "api", Alice), default)!;
        Assert.Equal(DetectorKinds.Ssn, scanner.Detectors);
        Assert.Equal("EMP-****** and 123-*******", MaskWith(scanner, "EMP-123456 and 123-45-6789"));

        // The overload without the session's rule set knows the built-in names only.
        Assert.Equal("EMP-123456 and ***********", MaskWith(DetectorRules.Scanner([.. set.Rules], default)!, "EMP-123456 and 123-45-6789"));
    }

    [Theory]
    [InlineData("keep-prefix", "full", "id **********")]
    [InlineData("keep-prefix", "digits", "id EMP-******")]
    [InlineData("partial", "keep-prefix", "id EMP-******")]
    [InlineData("keep-prefix", "keep-prefix", "id EMP-******")]
    [InlineData("keep-prefix", "hash", "id **********")]
    public void The_strictest_style_wins_full_over_a_hosts_over_built_in_and_two_of_the_hosts_give_full(string first, string second, string expected)
    {
        var masking = Masking(maskers: [new KeepPrefix(), new BytesMasker("hash", (byte)'#')]);
        var rules = RuleSet.Create(
        [
            new RuleDefinition { Name = "a", Action = PolicyAction.Mask, Detectors = ["employee-id"], Style = first },
            new RuleDefinition { Name = "b", Action = PolicyAction.Mask, Detectors = ["employee-id"], Style = second },
        ], masking: masking);
        var scanner = DetectorRules.Scanner(rules.ForSession(WireProtocol.Ssh, "app", Alice), DocsKey)!;
        Assert.Equal(expected, MaskWith(scanner, "id EMP-123456"));
    }

    // ---- a host's detectors and maskers -------------------------------------------------------------------

    /// <summary><c>EMP-</c> and six digits, as a word of their own.</summary>
    private sealed class EmployeeIds : IContentDetector
    {
        public string Name => "employee-id";

        public int MaxLength => 10;

        public bool TryFind(ReadOnlySpan<byte> text, out int start, out int length)
        {
            for (int at = text.IndexOf("EMP-"u8); at >= 0; at = NextFrom(text, at + 1))
            {
                bool before = at == 0 || !char.IsAsciiLetterOrDigit((char)text[at - 1]);
                bool after = at + 10 == text.Length || at + 10 < text.Length && !char.IsAsciiLetterOrDigit((char)text[at + 10]);
                if (before && after && at + 10 <= text.Length && !text.Slice(at + 4, 6).ContainsAnyExceptInRange((byte)'0', (byte)'9'))
                {
                    (start, length) = (at, 10);
                    return true;
                }
            }

            (start, length) = (0, 0);
            return false;
        }

        private static int NextFrom(ReadOnlySpan<byte> text, int from)
        {
            int next = text[from..].IndexOf("EMP-"u8);
            return next < 0 ? -1 : from + next;
        }
    }

    /// <summary>Every occurrence of a fixed token.</summary>
    private sealed class Token(string name, string token, int maxLength) : IContentDetector
    {
        private readonly byte[] _token = Encoding.UTF8.GetBytes(token);

        public string Name => name;

        public int MaxLength => maxLength;

        public bool TryFind(ReadOnlySpan<byte> text, out int start, out int length)
        {
            start = text.IndexOf(_token);
            length = _token.Length;
            return start >= 0;
        }
    }

    /// <summary><c>[[</c>, up to 296 bytes of letters, digits and dots, <c>]]</c>.</summary>
    private sealed class Bracketed : IContentDetector
    {
        public const int Longest = 300;

        public string Name => "bracketed";

        public int MaxLength => Longest;

        public bool TryFind(ReadOnlySpan<byte> text, out int start, out int length)
        {
            int from = 0;
            while (text[from..].IndexOf("[["u8) is var found && found >= 0)
            {
                start = from + found;
                int body = text[(start + 2)..].IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789."u8);
                if (body >= 0 && body <= Longest - 4 && text[(start + 2 + body)..].StartsWith("]]"u8))
                {
                    length = body + 4;
                    return true;
                }

                from = start + 1;
            }

            (start, length) = (0, 0);
            return false;
        }
    }

    private sealed class Throwing : IContentDetector
    {
        public string Name => "broken";

        public int MaxLength => 10;

        public bool TryFind(ReadOnlySpan<byte> text, out int start, out int length) => throw new InvalidOperationException("bug");
    }

    private sealed class OutOfRange : IContentDetector
    {
        public string Name => "broken";

        public int MaxLength => 10;

        public bool TryFind(ReadOnlySpan<byte> text, out int start, out int length)
        {
            (start, length) = (text.Length, 5);
            return true;
        }
    }

    /// <summary>Keeps the prefix up to the first hyphen.</summary>
    private sealed class KeepPrefix : IMasker
    {
        public string Name => "keep-prefix";

        public void Mask(Span<byte> utf8Value) => utf8Value[(utf8Value.IndexOf((byte)'-') + 1)..].Fill((byte)'*');
    }

    /// <summary>Overwrites every byte with one byte.</summary>
    private sealed class BytesMasker(string name, byte fill) : IMasker
    {
        public string Name => name;

        public void Mask(Span<byte> utf8Value) => utf8Value.Fill(fill);
    }

    private sealed class ThrowingMasker : IMasker
    {
        public string Name => "throwing";

        public void Mask(Span<byte> utf8Value) => throw new InvalidOperationException("bug");
    }

    private sealed class CountingLogger : ILogger
    {
        public int Errors { get; private set; }

        public string Last { get; private set; } = "";

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                Errors++;
                Last = formatter(state, exception);
            }
        }
    }
}
