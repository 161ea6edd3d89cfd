using Wire.Postgres.Sql;

namespace Wire.Postgres.Enforcement;

/// <summary>
/// What a prepared statement, portal or Query runs: the classification of its text, taken once (at Parse,
/// PREPARE, DECLARE or Query). When the text reads differently under the other <c>standard_conforming_strings</c>
/// setting, both readings are kept and both are judged.
/// </summary>
internal sealed class PgPrepared
{
    private static readonly IReadOnlyList<PgStatement> None = [];

    public PgPrepared(IReadOnlyList<PgStatement> statements, IReadOnlyList<PgStatement>? otherReading)
    {
        Statements = statements;
        OtherReading = otherReading;
    }

    /// <summary>A portal bound while its statement had several possible definitions: all of them.</summary>
    public PgPrepared(IReadOnlyList<PgPrepared> union)
    {
        Statements = None;
        Union = union;
    }

    /// <summary>A definition Wire does not know (a name it never saw defined): executing it is refused.</summary>
    public static PgPrepared Unknown { get; } = new(None, null) { IsUnknown = true };

    /// <summary>The statements as read under the session's setting.</summary>
    public IReadOnlyList<PgStatement> Statements { get; }

    /// <summary>The statements as read under the other <c>standard_conforming_strings</c> setting, when that differs.</summary>
    public IReadOnlyList<PgStatement>? OtherReading { get; }

    /// <summary>For a union: the alternatives.</summary>
    public IReadOnlyList<PgPrepared>? Union { get; }

    public bool IsUnknown { get; private init; }

    /// <summary>A holdable cursor survives the end of its transaction.</summary>
    public bool Holdable { get; init; }

    /// <summary>A portal's bound parameters, shown to approvers (text values cut to a display length).</summary>
    public IReadOnlyList<string?>? Parameters { get; init; }

    /// <summary>The statement text as the client sent it, for approvers and recordings.</summary>
    public string? Text { get; init; }

    /// <summary>The same statements with bound parameters (a portal of this statement).</summary>
    public PgPrepared WithParameters(IReadOnlyList<string?>? parameters) =>
        Union is { } union ? new PgPrepared(union) { Parameters = parameters, Text = Text }
        : IsUnknown ? this
        : new PgPrepared(Statements, OtherReading) { Parameters = parameters, Text = Text };
}
