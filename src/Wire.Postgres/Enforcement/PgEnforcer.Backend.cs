using System.Buffers;
using System.Buffers.Binary;
using Wire.Enforcement.Policy;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Enforcement;

internal sealed partial class PgEnforcer
{
    // Encodings whose multi-byte characters may contain ASCII bytes (a quote or backslash inside a character): the
    // lexer could not find statement boundaries as the server does (DESIGN.md §3).
    private static readonly string[] UnsafeEncodings = ["SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "GB18030", "UHC", "JOHAB"];

    // Server-pump state: only the server pump touches these.
    private string? _errorState;
    private string? _errorMessage;
    private long _masked;

    /// <summary>Values masked since the last call (server pump only): the pump adds them to <c>wire.masked</c> once per batch.</summary>
    public long TakeMasked()
    {
        long masked = _masked;
        _masked = 0;
        return masked;
    }

    /// <summary>Whether the server pump must hand this response type, whole, to <see cref="OnBackendMessage"/>.</summary>
    public bool IsTracked(byte type) => type is (byte)'1' or (byte)'2' or (byte)'3' or (byte)'t' or (byte)'T' or (byte)'n'
        or (byte)'C' or (byte)'I' or (byte)'s' or (byte)'E' or (byte)'Z' or (byte)'S'
        || (type is (byte)'D' or (byte)'N' or (byte)'A' or (byte)'V' or (byte)'H' && Masks)
        || (type is (byte)'d' or (byte)'c' && _copyMasker is not null);

    /// <summary>Whether <paramref name="encoding"/> (a <c>client_encoding</c> value) is one Wire refuses.</summary>
    public static bool IsUnsafeEncoding(string encoding)
    {
        foreach (var unsafeEncoding in UnsafeEncodings)
        {
            if (string.Equals(encoding, unsafeEncoding, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Matches one whole server response to what Wire forwarded: confirms or drops statement and portal names, follows
    /// session settings, and swaps the server's error for Wire's own where Wire replaced the client's message.
    /// </summary>
    public PgBackendAction OnBackendMessage(byte type, Span<byte> body)
    {
        lock (_gate)
        {
            switch (type)
            {
                case (byte)'S':
                    var status = OnParameterStatus(body);
                    MaskParameterValue(body);
                    return status;
                case (byte)'Z':
                    OnReadyForQuery(body);
                    _rowPlan = null;
                    return PgBackendAction.Forward;
                case (byte)'E':
                    _rowPlan = null;
                    var error = OnError(body);
                    if (error == PgBackendAction.Forward)
                    {
                        MaskNoticeFields(body);
                    }
                    return error;
                case (byte)'N':
                    MaskNoticeFields(body);
                    return PgBackendAction.Forward;
                case (byte)'A':
                    MaskNotification(body);
                    return PgBackendAction.Forward;
                case (byte)'V':
                    MaskFunctionResult(body);
                    return PgBackendAction.Forward;
                case (byte)'D':
                    return OnDataRow(body);
                case (byte)'H':
                    return OnCopyOut(body);
                case (byte)'d':
                    if (_copyMasker is { } copy)
                    {
                        long before = copy.Masked;
                        copy.Apply(body);
                        _masked += copy.Masked - before;
                    }
                    return PgBackendAction.Forward;
                case (byte)'c':
                    _copyMasker = null;
                    return PgBackendAction.Forward;
                case (byte)'T':
                    if (!OnRowDescription(body))
                    {
                        return PgBackendAction.NeedCatalog;
                    }
                    break;
            }

            if (_pending.Count == 0)
            {
                return PgBackendAction.Forward;
            }

            ref var head = ref _pending.Head;
            switch (type)
            {
                case (byte)'1' when head.Kind == PgPendingKind.Parse:
                    _statements.Commit(head.Name!, head.Definition!);
                    _pending.Dequeue();
                    break;
                case (byte)'2' when head.Kind == PgPendingKind.Bind:
                    _portals.Commit(head.Name!, head.Definition!);
                    ShapePortal(head.Name!, head.StatementName, head.ResultFormats);
                    _pending.Dequeue();
                    break;
                case (byte)'3' when head.Kind == PgPendingKind.Close:
                    (head.Portal ? _portals : _statements).Remove(head.Name!);
                    _pending.Dequeue();
                    break;
                case (byte)'n' when head.Kind == PgPendingKind.WireDescribePortal:
                    _portalShapes[head.Name!] = ([], []);
                    _pending.Dequeue();
                    return PgBackendAction.Drop;
                case (byte)'T' when head.Kind == PgPendingKind.WireDescribePortal:
                    _pending.Dequeue();
                    return PgBackendAction.Drop;
                case (byte)'n' when head.Kind == PgPendingKind.DescribePortal:
                    _portalShapes[head.Name!] = ([], []);
                    _pending.Dequeue();
                    break;
                case (byte)'n' when head.Kind == PgPendingKind.DescribeStatement:
                    _statementShapes.Remove(head.Name!);
                    _pending.Dequeue();
                    break;
                case (byte)'T' when head.Kind is PgPendingKind.DescribePortal or PgPendingKind.DescribeStatement:
                    _pending.Dequeue();
                    break;
                case (byte)'C' or (byte)'I' when head.Kind == PgPendingKind.Query:
                    ApplyChange(head.Changes, head.Completed++, type == (byte)'C' ? body : default);
                    RecordResult(type == (byte)'C' ? body : default, head.Started);
                    InvalidateCatalogAfterDdl(head.Statements, head.Completed - 1, body);
                    _rowPlan = null;
                    break;
                case (byte)'C' or (byte)'I' or (byte)'s' when head.Kind == PgPendingKind.Execute:
                    ApplyChange(head.Changes, head.Completed++, type == (byte)'C' ? body : default);
                    RecordResult(type == (byte)'C' ? body : default, head.Started);
                    InvalidateCatalogAfterDdl(head.Statements, 0, body);
                    _rowPlan = null;
                    _pending.Dequeue();
                    break;
            }
            return PgBackendAction.Forward;
        }
    }

    /// <summary>A RowDescription: the shape of a Query's result, or of a described statement or portal. False: ask the catalog.</summary>
    private bool OnRowDescription(ReadOnlySpan<byte> body)
    {
        if (_pending.Count == 0 || !Masks)
        {
            return true;
        }
        ref var head = ref _pending.Head;
        PgField[] fields;
        string[] names;
        if (_lastShapeBody is not null && body.SequenceEqual(_lastShapeBody))
        {
            // The same statement again (the common case): its shape is already parsed. Nobody changes these arrays.
            fields = _lastShapeFields!;
            names = _lastShapeNames!;
        }
        else
        {
            fields = PgRowDescription.Read(body, out names);
            if (body.Length <= MaxRememberedShapeBytes)
            {
                _lastShapeBody = body.ToArray();
                _lastShapeFields = fields;
                _lastShapeNames = names;
            }
        }
        switch (head.Kind)
        {
            case PgPendingKind.Query:
                if (!TryCreatePlan(fields, names, head.Tainted, out var plan))
                {
                    return false;
                }
                _rowPlan = plan;
                break;
            case PgPendingKind.DescribeStatement:
                _statementShapes[head.Name!] = fields;
                _shapeNames[head.Name!] = names;
                break;
            case PgPendingKind.DescribePortal or PgPendingKind.WireDescribePortal:
                _portalShapes[head.Name!] = (fields, names);
                break;
        }
        return true;
    }

    private readonly Dictionary<string, string[]> _shapeNames = new(StringComparer.Ordinal);

    // The last RowDescription seen and what it parsed to.
    private const int MaxRememberedShapeBytes = 4096;
    private byte[]? _lastShapeBody;
    private PgField[]? _lastShapeFields;
    private string[]? _lastShapeNames;

    /// <summary>A bound portal's shape: its statement's, with the formats the Bind asked for.</summary>
    private void ShapePortal(string portal, string? statement, byte[]? resultFormats)
    {
        _portalShapes.Remove(portal);
        if (statement is not null && resultFormats is not null && _statementShapes.TryGetValue(statement, out var fields))
        {
            int count = BinaryPrimitives.ReadInt16BigEndian(resultFormats);
            _portalShapes[portal] = (PgMaskPlan.WithFormats(fields, resultFormats.AsSpan(2), count), _shapeNames.GetValueOrDefault(statement) ?? []);
        }
    }

    /// <summary>Masks one row in place by the plan of its result; a row of unknown shape is masked whole.</summary>
    private PgBackendAction OnDataRow(Span<byte> body)
    {
        if (!Masks)
        {
            return PgBackendAction.Forward;
        }
        if (_rowPlan is null)
        {
            bool tainted = true;
            if (_pending.Count > 0 && _pending.Head.Kind == PgPendingKind.Execute)
            {
                tainted = _pending.Head.Tainted;
                if (_portalShapes.TryGetValue(_pending.Head.Name!, out var shape))
                {
                    if (!TryCreatePlan(shape.Fields, shape.Names, tainted, out var plan))
                    {
                        return PgBackendAction.NeedCatalog;
                    }
                    _rowPlan = plan;
                }
            }
            // Never forward a row without a plan: one whose shape Wire did not see is masked whole.
            _rowPlan ??= PgMaskPlan.MaskEverything(MaskPolicy.Full);
        }
        if (_recorder is not null)
        {
            CountRow(body.Length + 5);
        }
        if (_rowPlan.HasWork)
        {
            _masked += _rowPlan.Apply(body);
        }
        return PgBackendAction.Forward;
    }

    private PgCopyMasker? _copyMasker;

    /// <summary>CopyOutResponse: rows of a COPY TO STDOUT follow; they are masked like the columns they come from.</summary>
    private PgBackendAction OnCopyOut(ReadOnlySpan<byte> body)
    {
        _copyMasker = null;
        if (!Masks || body.Length < 3 || _pending.Count == 0)
        {
            return PgBackendAction.Forward;
        }
        bool binary = body[0] == 1;
        int count = BinaryPrimitives.ReadInt16BigEndian(body[1..]);
        ref var head = ref _pending.Head;
        var statements = head.Statements?.Statements ?? [];
        var statement = head.Kind == PgPendingKind.Query && head.Completed < statements.Count ? statements[head.Completed]
            : statements.FirstOrDefault(s => s.Kinds.Contains(StatementKind.CopyTo));
        var format = statement is null ? new PgCopyFormat(false, (byte)'\t', (byte)'"', (byte)'"', false, null, null, Understood: false)
            : PgCopyFormat.Parse(statement.NormalizedText);

        var mask = MaskPolicy;
        var columns = new (Wire.Enforcement.Masking.ValueMasker?, Wire.Enforcement.Masking.ContentScanner?, uint)[Math.Max(count, 0)];
        PgRelationInfo? relation = null;
        if (format.Relation is { } name)
        {
            _relations.Clear();
            if (_catalog is null || !_catalog.TryGetByName(name, _relations) || _relations.Count != 1)
            {
                // Not known for sure (not found, or the same name in several schemas): every field is masked.
                relation = PgRelationInfo.Missing;
            }
            else
            {
                relation = _relations[0];
            }
        }

        short[] attributes = relation is null || !relation.Exists ? []
            : format.Columns is { } named ? [.. named.Select(n => relation.Columns.FirstOrDefault(c => c.Value == n).Key)]
            : [.. relation.Columns.Keys.Order()];
        for (int i = 0; i < columns.Length; i++)
        {
            if (relation is null)
            {
                // COPY (query): its columns are expressions.
                columns[i] = head.Tainted ? (mask.Full, null, 0u) : (null, mask.Scanner, 0u);
            }
            else if (!relation.Exists || i >= attributes.Length || attributes[i] == 0)
            {
                columns[i] = (mask.Full, null, 0u);
            }
            else
            {
                short attribute = attributes[i];
                uint type = relation.ColumnTypes.GetValueOrDefault(attribute);
                columns[i] = mask.StyleFor(relation, attribute) is { } style ? (mask.Masker(style), null, type)
                    : (null, mask.ScanAllText ? mask.Scanner : null, type);
            }
        }
        _copyMasker = new PgCopyMasker(format, binary, columns, mask.Full);
        return PgBackendAction.Forward;
    }

    private void InvalidateCatalogAfterDdl(PgPrepared? statements, int index, ReadOnlySpan<byte> commandComplete)
    {
        if (_catalog is null || statements is null || index < 0 || index >= statements.Statements.Count)
        {
            return;
        }
        var kinds = statements.Statements[index].Kinds;
        if (kinds.Contains(StatementKind.Create) || kinds.Contains(StatementKind.Alter) || kinds.Contains(StatementKind.Drop))
        {
            _catalog.Invalidate();
        }
    }

    /// <summary>Writes Wire's own error in place of the server's (after <see cref="PgBackendAction.Replace"/>).</summary>
    public void WriteBackendReplacement(IBufferWriter<byte> output) =>
        PgMessageWriter.WriteErrorResponse(output, "ERROR", _errorState!, _errorMessage!);

    private PgBackendAction OnError(ReadOnlySpan<byte> body)
    {
        if (_pending.Count == 0)
        {
            RecordServerError(body);
            return PgBackendAction.Forward;
        }

        ref var head = ref _pending.Head;
        switch (head.Kind)
        {
            case PgPendingKind.DeniedQuery when head.SqlState is not null:
                (_errorState, _errorMessage) = (head.SqlState, head.Message);
                head.SqlState = null; // only the first error is Wire's
                return PgBackendAction.Replace;
            case PgPendingKind.DeniedExecute:
                (_errorState, _errorMessage) = (head.SqlState, head.Message);
                _pending.Dequeue();
                return PgBackendAction.Replace;
            case PgPendingKind.Query or PgPendingKind.FunctionCall or PgPendingKind.DeniedQuery or PgPendingKind.Sync:
                // The rest of a Query does not run; ReadyForQuery settles it.
                RecordServerError(body);
                return PgBackendAction.Forward;
            default:
                // The error answers the extended-protocol message at the head; the server skips the rest until Sync.
                RecordServerError(body);
                Settle(_pending.Dequeue());
                return PgBackendAction.Forward;
        }
    }

    private void OnReadyForQuery(ReadOnlySpan<byte> body)
    {
        // Everything before the Sync (or Query) this answers was skipped by the server after an error.
        while (_pending.Count > 0)
        {
            var entry = _pending.Dequeue();
            Settle(entry);
            if (entry.Kind is PgPendingKind.Sync or PgPendingKind.Query or PgPendingKind.FunctionCall or PgPendingKind.DeniedQuery)
            {
                break;
            }
        }

        if (body.Length == 1 && body[0] == (byte)'I')
        {
            // Outside a transaction block no portal survives but holdable cursors.
            _portals.RemoveAllCommitted(keepHoldable: true);
        }
    }

    /// <summary>An entry leaves the queue without its success response: what it would have defined was not.</summary>
    private void Settle(in PgPending entry)
    {
        switch (entry.Kind)
        {
            case PgPendingKind.Parse:
                _statements.Discard(entry.Name!, entry.Definition!);
                break;
            case PgPendingKind.Bind:
                _portals.Discard(entry.Name!, entry.Definition!);
                break;
            case PgPendingKind.Query or PgPendingKind.Execute:
                DiscardChanges(entry.Changes, entry.Completed);
                break;
        }
    }

    private void DiscardChanges(PgDefinitionChange?[]? changes, int from)
    {
        if (changes is null)
        {
            return;
        }
        for (int i = from; i < changes.Length; i++)
        {
            switch (changes[i])
            {
                case { Kind: PgDefinitionChangeKind.Prepare } c:
                    _statements.Discard(c.Name!, c.Definition!);
                    break;
                case { Kind: PgDefinitionChangeKind.Declare } c:
                    _portals.Discard(c.Name!, c.Definition!);
                    break;
            }
        }
    }

    private void ApplyChange(PgDefinitionChange?[]? changes, int index, ReadOnlySpan<byte> commandComplete)
    {
        if (changes is null || index >= changes.Length || changes[index] is not { } change)
        {
            return;
        }
        // The tag confirms the statement at this index is the one that completed.
        var tag = commandComplete.IndexOf((byte)0) is var end and >= 0 ? commandComplete[..end] : commandComplete;
        switch (change.Kind)
        {
            case PgDefinitionChangeKind.Prepare when tag.SequenceEqual("PREPARE"u8):
                _statements.Commit(change.Name!, change.Definition!);
                break;
            case PgDefinitionChangeKind.Declare when tag.SequenceEqual("DECLARE CURSOR"u8):
                _portals.Commit(change.Name!, change.Definition!);
                break;
            case PgDefinitionChangeKind.Deallocate when tag.StartsWith("DEALLOCATE"u8):
                _statements.Remove(change.Name!);
                break;
            case PgDefinitionChangeKind.DeallocateAll when tag.StartsWith("DEALLOCATE"u8):
                _statements.RemoveAllCommitted();
                break;
            case PgDefinitionChangeKind.CloseCursor when tag.StartsWith("CLOSE"u8):
                _portals.Remove(change.Name!);
                break;
            case PgDefinitionChangeKind.CloseAllCursors when tag.StartsWith("CLOSE"u8):
                _portals.RemoveAllCommitted();
                break;
            case PgDefinitionChangeKind.DiscardAll when tag.StartsWith("DISCARD"u8):
                _statements.RemoveAllCommitted();
                _portals.RemoveAllCommitted();
                break;
            case PgDefinitionChangeKind.Prepare:
                _statements.Discard(change.Name!, change.Definition!);
                break;
            case PgDefinitionChangeKind.Declare:
                _portals.Discard(change.Name!, change.Definition!);
                break;
        }
    }

    private PgBackendAction OnParameterStatus(ReadOnlySpan<byte> body)
    {
        var reader = new PgBodyReader(body);
        var name = reader.ReadCStringBytes();
        var value = reader.ReadCStringBytes();
        if (name.SequenceEqual("standard_conforming_strings"u8))
        {
            _standardConformingStrings = value.SequenceEqual("on"u8);
        }
        else if (name.SequenceEqual("client_encoding"u8) && IsUnsafeEncoding(System.Text.Encoding.ASCII.GetString(value)))
        {
            return PgBackendAction.UnsupportedEncoding;
        }
        return PgBackendAction.Forward;
    }
}
