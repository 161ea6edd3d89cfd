using Wire.Postgres.Protocol;
using ProtocolViolationException = Wire.Enforcement.ProtocolViolationException;
using static Wire.Postgres.Tests.Protocol.PgTestFrames;

namespace Wire.Postgres.Tests.Protocol;

public sealed class PgStartupMessageTests
{
    /// <summary>Protocol 3.0: major 3 in the high 16 bits, minor 0.</summary>
    private const int Protocol30 = 196608;

    [Fact]
    public void Parses_parameters_in_order()
    {
        byte[] body = Concat(
            CString("user"), CString("alice"),
            CString("database"), CString("shop"),
            CString("application_name"), CString("psql ✓"),
            CString("options"), CString(""),
            [0]);

        var startup = PgStartupMessage.Parse(Protocol30, body);

        Assert.Equal(Protocol30, startup.Version);
        Assert.Equal(
            [new("user", "alice"), new("database", "shop"), new("application_name", "psql ✓"), new("options", "")],
            startup.Parameters);
        Assert.Equal("alice", startup["user"]);
        Assert.Equal("psql ✓", startup["application_name"]);
        Assert.Equal("", startup["options"]);
        Assert.Null(startup["replication"]);
        Assert.Null(startup["User"]);
    }

    [Fact]
    public void Empty_parameter_list_is_only_the_terminator()
    {
        var startup = PgStartupMessage.Parse(Protocol30, [0]);
        Assert.Empty(startup.Parameters);
    }

    [Theory]
    [InlineData(196608, 3, 0)]
    [InlineData(196610, 3, 2)]
    [InlineData(131072, 2, 0)]
    [InlineData(80877103, 1234, 5679)]
    [InlineData(0x7FFF_FFFF, 0x7FFF, 0xFFFF)]
    public void Version_splits_into_major_and_minor(int version, int major, int minor)
    {
        var startup = PgStartupMessage.Parse(version, [0]);
        Assert.Equal(version, startup.Version);
        Assert.Equal(major, startup.MajorVersion);
        Assert.Equal(minor, startup.MinorVersion);
    }

    private const string MissingTerminator = "startup packet is missing its terminator";
    private const string AfterTerminator = "startup packet has bytes after its terminator";
    private const string NoValue = "startup packet parameter has no value";
    private const string NotTerminated = "startup packet string is not terminated";
    private const string Repeated = "startup packet repeats a parameter";
    private const string NotUtf8 = "startup packet string is not valid UTF-8";

    public static TheoryData<string, byte[], string> Malformed => new()
    {
        { "empty", [], MissingTerminator },
        { "missing terminator", Concat(CString("user"), CString("alice")), MissingTerminator },
        { "bytes after terminator", Concat(CString("user"), CString("alice"), [0], [(byte)'x']), AfterTerminator },
        { "two terminators", Concat(CString("user"), CString("alice"), [0, 0]), AfterTerminator },
        { "name without value", CString("user"), NoValue },
        { "second name without value", Concat(CString("user"), CString("alice"), CString("database")), NoValue },
        { "unterminated name", "user"u8.ToArray(), NotTerminated },
        { "unterminated value", Concat(CString("user"), "alice"u8.ToArray()), NotTerminated },
        { "repeated parameter", Concat(CString("user"), CString("alice"), CString("user"), CString("bob"), [0]), Repeated },
        { "repeated parameter, same value", Concat(CString("user"), CString("a"), CString("user"), CString("a"), [0]), Repeated },
        { "invalid UTF-8 value", Concat(CString("user"), [0xFF, 0], [0]), NotUtf8 },
        { "invalid UTF-8 name", Concat([(byte)'u', 0xC3, 0], CString("x"), [0]), NotUtf8 },
        { "overlong NUL", Concat(CString("user"), [(byte)'a', 0xC0, 0x80, 0], [0]), NotUtf8 },
        { "UTF-16 surrogate", Concat(CString("user"), [0xED, 0xA0, 0x80, 0], [0]), NotUtf8 },
        { "truncated sequence", Concat(CString("user"), [0xE2, 0x9C, 0], [0]), NotUtf8 },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_parameters_are_a_violation(string name, byte[] body, string reason)
    {
        _ = name;
        var e = Assert.Throws<ProtocolViolationException>(() => PgStartupMessage.Parse(Protocol30, body));
        Assert.Equal(reason, e.Message);
    }

    [Fact]
    public void Violation_text_never_contains_the_payload()
    {
        byte[] body = Concat(CString("password"), CString("hunter2"), CString("password"), CString("hunter2"), [0]);
        var e = Assert.Throws<ProtocolViolationException>(() => PgStartupMessage.Parse(Protocol30, body));
        Assert.DoesNotContain("hunter2", e.ToString(), StringComparison.Ordinal);
    }
}
