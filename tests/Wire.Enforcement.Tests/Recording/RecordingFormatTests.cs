using System.Globalization;
using Wire.Enforcement.Recording;

namespace Wire.Enforcement.Tests.Recording;

public sealed class RecordingFormatTests
{
    [Fact]
    public void Timestamps_are_written_exactly_as_the_documented_format()
    {
        var random = new Random(20261123);
        DateTimeOffset[] edges =
        [
            DateTimeOffset.MinValue,
            DateTimeOffset.MaxValue,
            new(2026, 12, 31, 23, 59, 59, 999, TimeSpan.Zero),
            new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(-5)).AddTicks(9),
            new DateTimeOffset(2026, 6, 1, 8, 5, 3, TimeSpan.FromHours(14)).AddTicks(1_234_567),
        ];
        var times = edges.Concat(Enumerable.Range(0, 1000).Select(_ =>
            new DateTimeOffset(random.NextInt64(DateTime.MinValue.Ticks + TimeSpan.TicksPerDay, DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay),
                TimeSpan.FromMinutes(random.Next(-14 * 60, 14 * 60 + 1)))));

        Span<char> buffer = stackalloc char[32];
        foreach (var time in times)
        {
            int written = RecordingFormat.FormatTimestamp(time, buffer);
            string expected = time.UtcDateTime.ToString(RecordingFormat.TimestampFormat, CultureInfo.InvariantCulture);
            Assert.Equal(expected, buffer[..written].ToString());
            Assert.True(RecordingFormat.TryParseTimestamp(expected, out var parsed));
            Assert.Equal(time.UtcTicks / 10, parsed.UtcTicks / 10);
        }
    }

    [Fact]
    public void A_short_destination_is_refused() =>
        Assert.Throws<ArgumentException>(() => RecordingFormat.FormatTimestamp(DateTimeOffset.UnixEpoch, new char[26]));
}
