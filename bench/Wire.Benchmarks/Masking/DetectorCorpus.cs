using System.Text;

namespace Wire.Benchmarks.Masking;

/// <summary>
/// Deterministic text that looks like what passes through Wire: application log lines, CSV result rows,
/// JSON documents and prose, with the digits such text has (timestamps, ids, amounts, zip codes, UUIDs)
/// but nothing a detector matches; optionally with one sensitive value (each detector in turn) about
/// every KiB.
/// </summary>
internal static class DetectorCorpus
{
    private static readonly string[] _words =
    [
        "the", "order", "was", "shipped", "to", "customer", "after", "payment", "cleared", "and", "invoice",
        "generated", "for", "account", "review", "pending", "approval", "by", "finance", "team", "on", "request",
        "of", "Alice", "Bob", "Carol", "Springfield", "warehouse", "delivery", "estimated", "within", "days",
        "Refund", "issued", "because", "item", "arrived", "damaged", "Support", "ticket", "closed", "with",
        "note", "about", "address", "change", "Please", "confirm", "new", "billing", "details", "before", "Monday",
    ];

    private static readonly string[] _samples =
    [
        "4111 1111 1111 1111",
        "123-45-6789",
        "alice.smith@example.com",
        "(415) 555-0100",
        "DE89 3704 0044 0532 0130 00",
        "AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oZcyQfQ2VZ9YoAoGCCqGSM49\n-----END EC PRIVATE KEY-----",
    ];

    /// <summary><paramref name="length"/> bytes of text; with <paramref name="hitEvery"/> &gt; 0, a sensitive value about that often.</summary>
    public static byte[] Create(int length, int hitEvery = 0)
    {
        var random = new Random(20261122);
        var text = new StringBuilder(length + 1024);
        int nextHit = hitEvery;
        int sample = 0;
        while (text.Length < length)
        {
            if (hitEvery > 0 && text.Length >= nextHit)
            {
                text.Append("ref ").Append(_samples[sample++ % _samples.Length]).Append(" end\n");
                nextHit += hitEvery;
            }

            switch (random.Next(4))
            {
                case 0:
                    AppendLogLine(text, random);
                    break;
                case 1:
                    AppendCsvRow(text, random);
                    break;
                case 2:
                    AppendJson(text, random);
                    break;
                default:
                    AppendProse(text, random);
                    break;
            }
        }

        return Encoding.UTF8.GetBytes(text.ToString(0, length));
    }

    private static void AppendLogLine(StringBuilder text, Random random)
    {
        text.Append(FormattableString.Invariant(
            $"2026-11-{random.Next(1, 29):00}T{random.Next(24):00}:{random.Next(60):00}:{random.Next(60):00}.{random.Next(1000):000}Z INFO  [worker-{random.Next(8)}] "));
        text.Append(FormattableString.Invariant(
            $"request {NextGuid(random):D} user={_words[random.Next(_words.Length)].ToLowerInvariant()} took {random.Next(1, 900)} ms status={(random.Next(10) == 0 ? 404 : 200)} path=/api/v1/orders/{random.Next(10000, 99999)}\n"));
    }

    private static Guid NextGuid(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes);
    }

    private static void AppendCsvRow(StringBuilder text, Random random)
    {
        text.Append(FormattableString.Invariant(
            $"{random.Next(100000)},{_words[random.Next(_words.Length)]} {_words[random.Next(_words.Length)]},{random.Next(1, 9999)} Evergreen Terrace,Springfield,OR,{random.Next(10000, 99999)},2026-{random.Next(1, 13):00}-{random.Next(1, 29):00},{random.Next(100000) / 100.0:0.00}\n"));
    }

    private static void AppendJson(StringBuilder text, Random random)
    {
        text.Append(FormattableString.Invariant(
            $"{{\"id\":{random.Next(1000000)},\"name\":\"{_words[random.Next(_words.Length)]}\",\"city\":\"Springfield\",\"total\":{random.Next(100000) / 100.0:0.00},\"items\":{random.Next(1, 20)},\"created\":\"2026-11-{random.Next(1, 29):00}T{random.Next(24):00}:{random.Next(60):00}:00Z\"}}\n"));
    }

    private static void AppendProse(StringBuilder text, Random random)
    {
        int words = random.Next(8, 30);
        for (int i = 0; i < words; i++)
        {
            text.Append(_words[random.Next(_words.Length)]).Append(i == words - 1 ? ".\n" : " ");
        }
    }
}
