using System.Buffers.Text;
using System.Text;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Postgres.Protocol;
using Wire.Postgres.Sql;

namespace Wire.Postgres.Enforcement;

internal sealed partial class PgEnforcer
{
    // Server-pump counters of the execution in progress (rows and bytes sent to the client).
    private long _resultRows;
    private long _resultBytes;

    /// <summary>
    /// Whether new executions must be refused because recording failed or fell behind and <c>recording.onFailure</c>
    /// is <c>deny</c> (fail closed).
    /// </summary>
    private bool RecordingRefuses =>
        _recorder is { IsHealthy: false } && _enforcement.Recorder?.OnFailure != RecordingFailureMode.Allow;

    /// <summary>Whether the server pump must count rows for results (only when recording).</summary>
    public bool CountsRows => _recorder is not null;

    private void Record(RecordEvent recordEvent) => _recorder?.TryRecord(recordEvent);

    /// <summary>
    /// Text as recordings and approvers may see it: with the session's content detectors applied (DESIGN.md §4: text,
    /// parameters and results are masked before they are recorded).
    /// </summary>
    private string MaskText(string text)
    {
        if (MaskPolicy.Scanner is not { } scanner || text.Length == 0)
        {
            return text;
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        return scanner.MaskInPlace(bytes) > 0 ? Encoding.UTF8.GetString(bytes) : text;
    }

    /// <summary>As <see cref="MaskText(string)"/>, for the client's own UTF-8 bytes: one copy, masked in place, one string.</summary>
    private string MaskText(ReadOnlySpan<byte> utf8)
    {
        if (MaskPolicy.Scanner is not { } scanner || utf8.IsEmpty)
        {
            return Encoding.UTF8.GetString(utf8);
        }
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(utf8.Length);
        try
        {
            var copy = rented.AsSpan(0, utf8.Length);
            utf8.CopyTo(copy);
            scanner.MaskInPlace(copy);
            return Encoding.UTF8.GetString(copy);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private IReadOnlyList<string?>? MaskTexts(IReadOnlyList<string?>? values) =>
        values is null || MaskPolicy.Scanner is null ? values : [.. values.Select(v => v is null ? null : MaskText(v))];

    /// <summary>Records what was decided for each statement of an execution, with the client's own text.</summary>
    private void RecordCommand(PgPrepared definition, ReadOnlySpan<byte> sql, Verdict verdict, string outcome, string? approver = null)
    {
        if (_recorder is null)
        {
            return;
        }

        var recorded = ToRecorded(verdict.Action);
        if (definition.Statements.Count == 0)
        {
            Record(new CommandEvent(MaskText(definition.Text ?? ""), MaskTexts(definition.Parameters), "other", recorded, verdict.Rule, approver, outcome));
            return;
        }
        var statements = definition.Statements;
        for (int i = 0; i < statements.Count; i++)
        {
            var statement = statements[i];
            string text = !sql.IsEmpty && statement.Start + statement.Length <= sql.Length
                ? MaskText(sql.Slice(statement.Start, statement.Length))
                : MaskText(definition.Text ?? statement.NormalizedText);
            Record(new CommandEvent(text, MaskTexts(definition.Parameters), StatementKindNames.Name(statement.Kind), recorded, verdict.Rule, approver,
                outcome));
        }
    }

    private void RecordReview(PgHeldMessage held, ApprovalDecision decision)
    {
        if (_recorder is null)
        {
            return;
        }
        string outcome = decision.Outcome switch
        {
            ApprovalOutcome.Approved => "approved",
            ApprovalOutcome.Denied => "denied",
            ApprovalOutcome.TimedOut => "timed-out",
            _ => "cancelled",
        };
        Record(new CommandEvent(held.Request.Text, held.Request.Parameters, KindName(held.Request.Kinds), RecordedVerdict.Review,
            held.Request.Rule, decision.Approver, outcome));
    }

    /// <summary>A statement completed: its result summary (never values).</summary>
    private void RecordResult(ReadOnlySpan<byte> commandComplete, long started)
    {
        if (_recorder is null)
        {
            return;
        }
        var tag = commandComplete.IndexOf((byte)0) is var end and >= 0 ? commandComplete[..end] : commandComplete;
        long rows = _resultRows;
        int space = tag.LastIndexOf((byte)' ');
        if (space >= 0 && Utf8Parser.TryParse(tag[(space + 1)..], out long tagged, out int consumed) && consumed == tag.Length - space - 1)
        {
            rows = tagged;
        }
        var duration = started == 0 ? TimeSpan.Zero : _enforcement.Time.GetElapsedTime(started);
        var masked = _rowPlan is { } plan ? plan.TakeCounts() : EmptyMasked;
        Record(new ResultEvent(rows, _resultBytes, masked, duration) { Status = tag.IsEmpty ? null : Encoding.UTF8.GetString(tag) });
        _resultRows = 0;
        _resultBytes = 0;
    }

    private static readonly IReadOnlyDictionary<string, long> EmptyMasked = new Dictionary<string, long>();

    private void RecordServerError(ReadOnlySpan<byte> body)
    {
        if (_recorder is null)
        {
            return;
        }
        // The body was masked in place before this runs, so the message is already clean.
        var error = PgErrorFields.Parse(body);
        Record(new ErrorEvent(error.SqlState, MaskText(error.Message)));
        _resultRows = 0;
        _resultBytes = 0;
    }

    /// <summary>Counts one row frame of the result in progress.</summary>
    public void CountRow(int frameLength)
    {
        _resultRows++;
        _resultBytes += frameLength;
    }

    private static RecordedVerdict ToRecorded(PolicyAction action) => action switch
    {
        PolicyAction.Deny => RecordedVerdict.Deny,
        PolicyAction.Review => RecordedVerdict.Review,
        _ => RecordedVerdict.Allow,
    };

    private static string KindName(StatementKindSet kinds)
    {
        foreach (var kind in kinds.Kinds)
        {
            if (kind != StatementKind.Other)
            {
                return StatementKindNames.Name(kind);
            }
        }
        return "other";
    }
}
