using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Postgres.Protocol;
using Wire.Postgres.Sql;

namespace Wire.Postgres.Enforcement;

internal sealed partial class PgEnforcer
{
    // Client-pump state: only the client pump touches these.
    private bool _skipUntilSync;
    private byte _replacementType;
    private string? _injectDescribe;

    // Which statements and portals have had (or are having) their result shape described, so Wire knows the shape of
    // the rows an Execute returns; an Execute of any other portal gets Wire's own Describe first.
    private readonly HashSet<string> _describedStatements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _describedPortals = new(StringComparer.Ordinal);

    /// <summary>
    /// Judges one whole client message (type byte and body) and tells the pump what to do with it. Registers what
    /// the server will answer. Throws <see cref="ProtocolViolationException"/> for a malformed message.
    /// </summary>
    public PgFrontendAction OnFrontendMessage(byte type, ReadOnlySpan<byte> body, out PgHeldMessage? held)
    {
        held = null;
        lock (_gate)
        {
            if (_skipUntilSync)
            {
                // After the error of a denied Execute the server ignores everything up to Sync; so does Wire.
                if (type != (byte)PgFrontendMessageType.Sync)
                {
                    return PgFrontendAction.Drop;
                }
                _skipUntilSync = false;
            }

            switch (type)
            {
                case (byte)PgFrontendMessageType.Query:
                    return OnQuery(body, out held);
                case (byte)PgFrontendMessageType.Parse:
                    OnParse(body);
                    return PgFrontendAction.Forward;
                case (byte)PgFrontendMessageType.Bind:
                    OnBind(body);
                    return PgFrontendAction.Forward;
                case (byte)PgFrontendMessageType.Execute:
                    return OnExecute(body, out held);
                case (byte)PgFrontendMessageType.Describe:
                    OnDescribeOrClose(body, describe: true);
                    return PgFrontendAction.Forward;
                case (byte)PgFrontendMessageType.Close:
                    OnDescribeOrClose(body, describe: false);
                    return PgFrontendAction.Forward;
                case (byte)PgFrontendMessageType.Sync:
                    _pending.Enqueue(new PgPending { Kind = PgPendingKind.Sync });
                    return PgFrontendAction.Forward;
                case (byte)PgFrontendMessageType.FunctionCall:
                    return OnFunctionCall(body, out held);
                default:
                    // Flush, CopyData, CopyDone, CopyFail: nothing to judge, nothing answered on their own.
                    return PgFrontendAction.Forward;
            }
        }
    }

    /// <summary>Whether a message of this type must be judged whole (the others are forwarded as they stream by).</summary>
    public static bool IsJudged(byte type) => type is (byte)'Q' or (byte)'P' or (byte)'B' or (byte)'E' or (byte)'D' or (byte)'C' or (byte)'S' or (byte)'F';

    /// <summary>Settles a held message: forwarded when approved, replaced (with 42501 or 57014) otherwise.</summary>
    public PgFrontendAction Resolve(PgHeldMessage held, ApprovalDecision decision)
    {
        lock (_gate)
        {
            RecordReview(held, decision);
            if (decision.Outcome == ApprovalOutcome.Approved)
            {
                var entry = held.WhenAllowed;
                entry.Started = _enforcement.Time.GetTimestamp();
                _pending.Enqueue(entry);
                return PgFrontendAction.Forward;
            }

            DiscardChanges(held.WhenAllowed.Changes, 0);
            var (state, message) = decision.Outcome switch
            {
                ApprovalOutcome.Denied => (PgSqlState.InsufficientPrivilege,
                    $"wire: denied by rule {held.Request.Rule}: review denied by {decision.Approver}{(decision.Reason is null ? "" : ": " + decision.Reason)}"),
                ApprovalOutcome.TimedOut => (PgSqlState.QueryCanceled, $"wire: review by rule {held.Request.Rule} timed out"),
                _ => (PgSqlState.QueryCanceled, $"wire: review by rule {held.Request.Rule} was cancelled"),
            };
            return Replace(held.ReplacementType, state, message);
        }
    }

    /// <summary>Settles a held message whose review could not be asked or answered (the broker failed): 58000.</summary>
    public PgFrontendAction Fail(PgHeldMessage held, string reason)
    {
        lock (_gate)
        {
            DiscardChanges(held.WhenAllowed.Changes, 0);
            Record(new CommandEvent(held.Request.Text, held.Request.Parameters, KindName(held.Request.Kinds), RecordedVerdict.Review,
                held.Request.Rule, null, "failed"));
            return Replace(held.ReplacementType, PgSqlState.SystemError, "wire: the review could not be completed: " + reason);
        }
    }

    /// <summary>Writes the message that replaces the last one judged <see cref="PgFrontendAction.Replace"/>.</summary>
    public void WriteReplacement(IBufferWriter<byte> output)
    {
        switch (_replacementType)
        {
            case (byte)PgFrontendMessageType.Query:
                PgMessageWriter.WriteQuery(output, DeniedQueryText);
                break;
            case (byte)PgFrontendMessageType.Execute:
                PgMessageWriter.WriteExecute(output, _deniedPortal, 0);
                break;
            default:
                // A call of function OID 0, which cannot exist.
                PgMessageWriter.WriteFunctionCall(output, 0);
                break;
        }
    }

    /// <summary>Writes the message Wire sends ahead of the last one judged <see cref="PgFrontendAction.InjectBefore"/>.</summary>
    public void WriteInjected(IBufferWriter<byte> output)
    {
        PgMessageWriter.WriteDescribe(output, (byte)'P', _injectDescribe!);
        _injectDescribe = null;
    }

    private PgFrontendAction Replace(byte type, string sqlState, string message)
    {
        _replacementType = type;
        if (type == (byte)PgFrontendMessageType.Execute)
        {
            _pending.Enqueue(new PgPending { Kind = PgPendingKind.DeniedExecute, SqlState = sqlState, Message = message });
            _skipUntilSync = true;
        }
        else
        {
            _pending.Enqueue(new PgPending { Kind = PgPendingKind.DeniedQuery, SqlState = sqlState, Message = message });
        }
        return PgFrontendAction.Replace;
    }

    private PgFrontendAction OnQuery(ReadOnlySpan<byte> body, out PgHeldMessage? held)
    {
        held = null;
        var reader = new PgBodyReader(body);
        var sql = reader.ReadCStringBytes();
        reader.EnsureEnd();

        var definition = Classify(sql);
        if (!TryTaint(definition, out bool tainted, out var refusal))
        {
            return PgFrontendAction.NeedCatalog;
        }
        var policy = Policy;
        var verdict = refusal ?? Judge(definition, policy);
        return Decide(verdict, (byte)PgFrontendMessageType.Query, definition, sql,
            new PgPending { Kind = PgPendingKind.Query, Statements = definition, Changes = DefinitionChanges(definition), Tainted = tainted }, out held);
    }

    private void OnParse(ReadOnlySpan<byte> body)
    {
        var reader = new PgBodyReader(body);
        string name = reader.ReadCString();
        var sql = reader.ReadCStringBytes();
        short parameterTypes = reader.ReadInt16();
        reader.ReadBytes(Math.Max((int)parameterTypes, 0) * 4);
        reader.EnsureEnd();

        var definition = Classify(sql, Encoding.UTF8.GetString(sql));
        _statements.AddPending(name, definition);
        _describedStatements.Remove(name);
        _pending.Enqueue(new PgPending { Kind = PgPendingKind.Parse, Name = name, Definition = definition });
    }

    private void OnBind(ReadOnlySpan<byte> body)
    {
        var reader = new PgBodyReader(body);
        string portal = reader.ReadCString();
        string statement = reader.ReadCString();
        short formatCount = reader.ReadInt16();
        var formats = reader.ReadBytes(Math.Max((int)formatCount, 0) * 2);
        short parameterCount = reader.ReadInt16();
        bool display = !Policy.AllowsEverything;
        List<string?>? parameters = display && parameterCount > 0 ? new(parameterCount) : null;
        for (int i = 0; i < parameterCount; i++)
        {
            int length = reader.ReadInt32();
            var value = length < 0 ? default : reader.ReadBytes(length);
            if (parameters is not null)
            {
                bool binary = formatCount == 1 ? BinaryPrimitives.ReadInt16BigEndian(formats) == 1
                    : formatCount > i && BinaryPrimitives.ReadInt16BigEndian(formats.Slice(i * 2)) == 1;
                parameters.Add(length < 0 ? null : binary ? $"<binary, {length} bytes>" : DisplayText(value));
            }
        }
        short resultFormats = reader.ReadInt16();
        reader.ReadBytes(Math.Max((int)resultFormats, 0) * 2);
        reader.EnsureEnd();

        int start = _candidates.Count;
        PgPrepared definition;
        if (!_statements.TryGetCandidates(statement, _candidates))
        {
            definition = PgPrepared.Unknown;
        }
        else if (_candidates.Count - start == 1)
        {
            definition = _candidates[start].WithParameters(parameters);
        }
        else
        {
            definition = new PgPrepared(_candidates.GetRange(start, _candidates.Count - start)) { Parameters = parameters };
        }
        _candidates.RemoveRange(start, _candidates.Count - start);

        _portals.AddPending(portal, definition);
        _describedPortals[portal] = _describedStatements.Contains(statement);
        _pending.Enqueue(new PgPending
        {
            Kind = PgPendingKind.Bind,
            Name = portal,
            Definition = definition,
            StatementName = statement,
            ResultFormats = Masks ? body[(body.Length - 2 - Math.Max((int)resultFormats, 0) * 2)..].ToArray() : null,
        });
    }

    private PgFrontendAction OnExecute(ReadOnlySpan<byte> body, out PgHeldMessage? held)
    {
        held = null;
        var reader = new PgBodyReader(body);
        string portal = reader.ReadCString();
        reader.ReadInt32();
        reader.EnsureEnd();

        int start = _candidates.Count;
        PgPrepared definition = !_portals.TryGetCandidates(portal, _candidates) ? PgPrepared.Unknown
            : _candidates.Count - start == 1 ? _candidates[start]
            : new PgPrepared(_candidates.GetRange(start, _candidates.Count - start));
        _candidates.RemoveRange(start, _candidates.Count - start);

        if (!TryTaint(definition, out bool tainted, out var refusal))
        {
            return PgFrontendAction.NeedCatalog;
        }
        var policy = Policy;
        var verdict = refusal ?? (definition.IsUnknown && policy.AllowsEverything ? Verdict.Allow() : Judge(definition, policy));
        if (verdict.Action == PolicyAction.Allow && !RecordingRefuses && Masks && !_describedPortals.GetValueOrDefault(portal))
        {
            // No row may pass without a plan: ask the server for this portal's shape first (the answer stays at Wire).
            _pending.Enqueue(new PgPending { Kind = PgPendingKind.WireDescribePortal, Name = portal });
            _describedPortals[portal] = true;
            _injectDescribe = portal;
            Decide(verdict, (byte)PgFrontendMessageType.Execute, definition, default,
                new PgPending { Kind = PgPendingKind.Execute, Name = portal, Statements = definition, Changes = DefinitionChanges(definition), Tainted = tainted },
                out held);
            return PgFrontendAction.InjectBefore;
        }
        return Decide(verdict, (byte)PgFrontendMessageType.Execute, definition, default,
            new PgPending { Kind = PgPendingKind.Execute, Name = portal, Statements = definition, Changes = DefinitionChanges(definition), Tainted = tainted },
            out held);
    }

    private void OnDescribeOrClose(ReadOnlySpan<byte> body, bool describe)
    {
        var reader = new PgBodyReader(body);
        byte what = reader.ReadByte();
        string name = reader.ReadCString();
        reader.EnsureEnd();
        if (what is not ((byte)'S' or (byte)'P'))
        {
            ProtocolViolationException.Throw(describe ? "invalid Describe target" : "invalid Close target");
        }

        bool portal = what == (byte)'P';
        if (describe)
        {
            if (portal)
            {
                _describedPortals[name] = true;
            }
            else
            {
                _describedStatements.Add(name);
            }
        }
        _pending.Enqueue(describe
            ? new PgPending { Kind = portal ? PgPendingKind.DescribePortal : PgPendingKind.DescribeStatement, Name = name }
            : new PgPending { Kind = PgPendingKind.Close, Portal = portal, Name = name });
    }

    private PgFrontendAction OnFunctionCall(ReadOnlySpan<byte> body, out PgHeldMessage? held)
    {
        var reader = new PgBodyReader(body);
        int oid = reader.ReadInt32();
        string function = "oid:" + ((uint)oid).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var request = new AccessRequest(StatementKindSet.Of(StatementKind.Call), false, [], [function], "function call " + function);
        var verdict = Policy.Evaluate(request);
        var definition = new PgPrepared([], null) { Text = "function call " + function };
        return Decide(verdict, (byte)PgFrontendMessageType.FunctionCall, definition, default,
            new PgPending { Kind = PgPendingKind.FunctionCall }, out held);
    }

    private PgFrontendAction Decide(Verdict verdict, byte type, PgPrepared definition, ReadOnlySpan<byte> sql, in PgPending whenAllowed, out PgHeldMessage? held)
    {
        held = null;
        Live?.CountCommand();
        if (RecordingRefuses)
        {
            // Fail closed: what cannot be recorded does not run (recording.onFailure: deny).
            DiscardChanges(whenAllowed.Changes, 0);
            return Replace(type, PgSqlState.SystemError, "wire: the session recording failed; statements are refused");
        }

        switch (verdict.Action)
        {
            case PolicyAction.Deny:
                DiscardChanges(whenAllowed.Changes, 0);
                RecordCommand(definition, sql, verdict, "denied");
                return Replace(type, PgSqlState.InsufficientPrivilege, DenialMessage(verdict));
            case PolicyAction.Review:
                var shown = definition.Text is null && !sql.IsEmpty
                    ? new PgPrepared(definition.Statements, definition.OtherReading) { Text = Encoding.UTF8.GetString(sql) }
                    : definition;
                held = new PgHeldMessage(CreateApprovalRequest(verdict, shown, KindsOf(definition)), whenAllowed, type);
                return PgFrontendAction.Review;
            default:
                RecordCommand(definition, sql, verdict, "allowed");
                var entry = whenAllowed;
                entry.Started = _enforcement.Time.GetTimestamp();
                _pending.Enqueue(entry);
                return PgFrontendAction.Forward;
        }
    }

    /// <summary>
    /// Whether the execution computes with masked data (see <see cref="IsTainted"/>); false when the catalog must be asked
    /// first. A tainted statement that copies data elsewhere (CREATE TABLE AS, SELECT INTO, INSERT ... SELECT, COPY to a
    /// file or program) is refused.
    /// </summary>
    private bool TryTaint(PgPrepared definition, out bool tainted, out Verdict? refusal)
    {
        tainted = false;
        refusal = null;
        if (!Masks)
        {
            return true;
        }

        var statements = _taintStatements;
        statements.Clear();
        Collect(definition, statements);
        // Memoised per classified statement list, unless EXECUTE pulled in other prepared statements.
        object? key = statements.Count == definition.Statements.Count ? definition.Statements : null;
        if (IsTainted(statements, key, out bool computes) is not { } result)
        {
            return false;
        }
        tainted = result;
        foreach (var statement in statements)
        {
            if (tainted && statement.CopiesData)
            {
                refusal = Verdict.Deny(null, "the statement copies data that is masked for you");
            }
        }
        if (computes && MaskPolicy.RefuseExpressions)
        {
            refusal ??= Verdict.Deny(null, "the statement computes with masked columns (function, operator, cast, aggregate or whole row)");
        }
        return true;

        void Collect(PgPrepared definition, List<PgStatement> into)
        {
            var own = definition.Statements;
            into.AddRange(own);
            for (int i = 0; i < own.Count; i++)
            {
                var statement = own[i];
                // EXECUTE computes what the prepared statement computes.
                if (statement.ExecuteName is { } name && into.Count < 64)
                {
                    int start = _candidates.Count;
                    _statements.TryGetCandidates(name, _candidates);
                    var found = _candidates.GetRange(start, _candidates.Count - start);
                    _candidates.RemoveRange(start, _candidates.Count - start);
                    foreach (var candidate in found)
                    {
                        Collect(candidate, into);
                    }
                }
            }
            if (definition.OtherReading is { } other)
            {
                into.AddRange(other);
            }
            foreach (var alternative in definition.Union ?? [])
            {
                Collect(alternative, into);
            }
        }
    }

    private static string DisplayText(ReadOnlySpan<byte> value)
    {
        var text = Encoding.UTF8.GetString(value.Length > DisplayedParameterLength * 4 ? value[..(DisplayedParameterLength * 4)] : value);
        return text.Length > DisplayedParameterLength ? string.Concat(text.AsSpan(0, DisplayedParameterLength), "...") : text;
    }

    /// <summary>
    /// The names a Query or portal defines or drops when it succeeds. Definitions are registered as pending now,
    /// so a later message in the same pipeline is judged against them; the server's CommandComplete confirms them.
    /// </summary>
    private PgDefinitionChange?[]? DefinitionChanges(PgPrepared definition)
    {
        PgDefinitionChange?[]? changes = null;
        var statements = definition.Statements;
        for (int i = 0; i < statements.Count; i++)
        {
            var statement = statements[i];
            PgDefinitionChange? change = null;
            if (statement.Kind == StatementKind.Prepare && statement.PreparedName is { } name && statement.Prepared is { } inner)
            {
                var prepared = new PgPrepared([inner], definition.OtherReading) { Text = inner.NormalizedText };
                _statements.AddPending(name, prepared);
                change = new PgDefinitionChange(PgDefinitionChangeKind.Prepare, name, prepared);
            }
            else if (statement.CursorName is { } cursor)
            {
                var prepared = new PgPrepared([statement], definition.OtherReading)
                {
                    Text = statement.NormalizedText,
                    Holdable = statement.NormalizedText.Contains(" with hold ", StringComparison.Ordinal),
                };
                _portals.AddPending(cursor, prepared);
                change = new PgDefinitionChange(PgDefinitionChangeKind.Declare, cursor, prepared);
            }
            else if (statement.Kind == StatementKind.Other)
            {
                change = NameDropped(statement.NormalizedText);
            }

            if (change is not null)
            {
                changes ??= new PgDefinitionChange[statements.Count];
                changes[i] = change;
            }
        }
        return changes;
    }

    private static PgDefinitionChange? NameDropped(string text)
    {
        if (text is "discard all")
        {
            return new PgDefinitionChange(PgDefinitionChangeKind.DiscardAll, null, null);
        }

        bool deallocate = text.StartsWith("deallocate ", StringComparison.Ordinal);
        bool close = text.StartsWith("close ", StringComparison.Ordinal);
        if (!deallocate && !close)
        {
            return null;
        }

        var rest = text.AsSpan(text.IndexOf(' ') + 1);
        if (deallocate && rest.StartsWith("prepare "))
        {
            rest = rest["prepare ".Length..];
        }
        if (rest is "all")
        {
            return new PgDefinitionChange(deallocate ? PgDefinitionChangeKind.DeallocateAll : PgDefinitionChangeKind.CloseAllCursors, null, null);
        }
        string name = rest.Length > 1 && rest[0] == '"' && rest[^1] == '"' ? rest[1..^1].ToString().Replace("\"\"", "\"", StringComparison.Ordinal) : rest.ToString();
        return new PgDefinitionChange(deallocate ? PgDefinitionChangeKind.Deallocate : PgDefinitionChangeKind.CloseCursor, name, null);
    }
}
