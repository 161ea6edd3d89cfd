using System.Buffers.Binary;
using Wire.Enforcement.Policy;
using Wire.Postgres.Protocol;
using Wire.Postgres.Sql;

namespace Wire.Postgres.Enforcement;

internal sealed partial class PgEnforcer
{
    private readonly PgCatalog? _catalog;
    private readonly byte[] _maskKey;
    private readonly List<PgRelationInfo> _relations = [];
    private readonly List<PgStatement> _taintStatements = [];
    private TaintMemo _taint;
    private MaskState? _mask;

    // Server-pump state: result shapes of described statements and portals, and the plan of the rows now arriving.
    private readonly Dictionary<string, PgField[]> _statementShapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (PgField[] Fields, string[] Names)> _portalShapes = new(StringComparer.Ordinal);
    private PgMaskPlan? _rowPlan;

    /// <summary>What must be looked up before the message at hand can be judged (names) or masked (OIDs).</summary>
    public List<string> MissingNames { get; } = [];

    public List<uint> MissingOids { get; } = [];

    public List<string> MissingFunctions { get; } = [];

    public PgCatalog? Catalog => _catalog;

    /// <summary>The session's mask rules, compiled; rebuilt when the rules reload (both pumps read it, so one reference).</summary>
    private PgMaskPolicy MaskPolicy
    {
        get
        {
            var policy = Policy;
            var state = Volatile.Read(ref _mask);
            if (state is null || !ReferenceEquals(state.Source, policy))
            {
                state = new MaskState(policy, new PgMaskPolicy(policy.MaskRules, policy.Source.Masking, _maskKey));
                Volatile.Write(ref _mask, state);
            }
            return state.Mask;
        }
    }

    /// <summary>Whether results are masked at all in this session (read by the server pump for every frame).</summary>
    public bool Masks => MaskPolicy.IsActive;

    private sealed record MaskState(SessionPolicy Source, PgMaskPolicy Mask);

    /// <summary>
    /// Whether a statement may compute with masked values (DESIGN.md §3): it reads a relation with a masked column (a view
    /// over one, a partition of one, or a relation Wire's catalog connection cannot see), or names a masked column. Its
    /// expression columns are then masked whole, since detectors cannot recognise md5, base64 or substrings. False with
    /// <see cref="MissingNames"/> filled when the catalog must be asked first.
    /// </summary>
    /// <remarks>
    /// <paramref name="computes"/> tells whether a masked column is used inside an expression (not only read). The answer
    /// for <paramref name="key"/> (a classified statement list, shared through the classification cache) is remembered
    /// while the mask policy and the catalog generation are unchanged and no catalog entry it read has expired, so a
    /// statement executed again costs a comparison instead of a word search per masked column.
    /// </remarks>
    private bool? IsTainted(IReadOnlyList<PgStatement> statements, object? key, out bool computes)
    {
        computes = false;
        var mask = MaskPolicy;
        if (!mask.HasColumnRules)
        {
            return false;
        }

        int generation = _catalog?.Generation ?? 0;
        long now = _enforcement.Time.GetTimestamp();
        if (key is not null && ReferenceEquals(key, _taint.Key) && ReferenceEquals(mask, _taint.Mask) && generation == _taint.Generation
            && now < _taint.ValidUntil)
        {
            computes = _taint.Computes;
            return _taint.Tainted;
        }

        long validUntil = long.MaxValue;
        bool tainted = false;
        MissingNames.Clear();
        MissingFunctions.Clear();
        // Index loops: foreach over these interfaces would box an enumerator per statement, name and column.
        for (int s = 0; s < statements.Count; s++)
        {
            var statement = statements[s];
            string text = statement.NormalizedText;
            var functions = statement.Functions;
            for (int f = 0; f < functions.Count; f++)
            {
                string function = functions[f];
                // A user-defined function may read masked columns and return them under any name (a set-returning
                // function in FROM, a scalar one in the select list): its results are treated like expressions over them.
                if (_catalog is null)
                {
                    tainted = true;
                }
                else if (!_catalog.TryGetFunction(function, out bool userDefined, ref validUntil))
                {
                    MissingFunctions.Add(function);
                }
                else
                {
                    tainted |= userDefined;
                    computes |= userDefined;
                }
            }
            var words = mask.ColumnNames;
            for (int w = 0; w < words.Count; w++)
            {
                string word = words[w];
                if (ContainsWord(text, word))
                {
                    tainted = true;
                    computes |= UsedInExpression(text, word);
                }
            }
            var relations = statement.Relations;
            for (int r = 0; r < relations.Count; r++)
            {
                string relation = relations[r];
                _relations.Clear();
                if (_catalog is null)
                {
                    tainted = true;
                }
                else if (!_catalog.TryGetByName(relation, _relations, ref validUntil))
                {
                    MissingNames.Add(relation);
                }
                else if (_relations.Count == 0)
                {
                    // Not in the catalog Wire sees: created in the client's open transaction, or a CTE-like name Wire
                    // cannot tell apart. Its values cannot be known to be clean.
                    tainted = true;
                }
                else
                {
                    foreach (var info in _relations)
                    {
                        if (Computes(text, relation, info, mask, out bool inExpression))
                        {
                            tainted = true;
                            computes |= inExpression;
                        }
                    }
                }
            }
        }
        if (MissingNames.Count > 0 || MissingFunctions.Count > 0)
        {
            return null;
        }
        if (key is not null)
        {
            _taint = new TaintMemo(key, mask, generation, validUntil, tainted, computes);
        }
        return tainted;
    }

    /// <summary>The last answer of <see cref="IsTainted"/> and what it is valid for.</summary>
    private readonly record struct TaintMemo(object? Key, PgMaskPolicy? Mask, int Generation, long ValidUntil, bool Tainted, bool Computes);

    /// <summary>
    /// Whether a statement over <paramref name="info"/> may compute with its masked values: it names one of its masked
    /// columns (for a view over masked data, any of its columns), or references its whole row (<c>row_to_json(c)</c>,
    /// <c>c::text</c>, <c>c.*</c> inside an expression). <c>SELECT count(*) FROM customers</c> does neither.
    /// </summary>
    private static bool Computes(string text, string relation, PgRelationInfo info, PgMaskPolicy mask, out bool inExpression)
    {
        inExpression = false;
        bool names = false;
        foreach (var (attribute, column) in info.Columns)
        {
            if (mask.StyleFor(info, attribute) is not null && ContainsWord(text, column))
            {
                names = true;
                inExpression |= UsedInExpression(text, column);
            }
        }
        if (!mask.MasksAnyColumnOf(info))
        {
            return names;
        }
        if (text.Contains(".*)", StringComparison.Ordinal) || text.Contains(".*::", StringComparison.Ordinal) || text.Contains(".*,", StringComparison.Ordinal) && text.Contains('(', StringComparison.Ordinal)
            || WholeRowReference(text, relation[(relation.LastIndexOf('.') + 1)..]))
        {
            inExpression = true;
            return true;
        }
        return names;
    }

    /// <summary>
    /// Whether some occurrence of <paramref name="column"/> is more than a plain item of a select list (<c>SELECT a, ssn
    /// FROM</c>, possibly qualified or aliased): inside a function call, next to an operator, in WHERE or ORDER BY.
    /// </summary>
    private static bool UsedInExpression(string text, string column)
    {
        for (int i = text.IndexOf(column, StringComparison.OrdinalIgnoreCase); i >= 0; i = text.IndexOf(column, i + 1, StringComparison.OrdinalIgnoreCase))
        {
            int end = i + column.Length;
            if ((i > 0 && (char.IsLetterOrDigit(text[i - 1]) || text[i - 1] is '_' or '$')) || (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] is '_' or '$')))
            {
                continue;
            }
            int start = i;
            if (start > 0 && text[start - 1] == '.')
            {
                // Qualified (c.ssn): the qualifier belongs to the item.
                start--;
                while (start > 0 && (char.IsLetterOrDigit(text[start - 1]) || text[start - 1] is '_' or '$' or '"'))
                {
                    start--;
                }
            }
            string before = text[..start].TrimEnd();
            string after = text[end..].TrimStart();
            bool itemStart = before.EndsWith(',') || EndsWithWord(before, "select") || EndsWithWord(before, "distinct");
            bool itemEnd = after.Length == 0 || after[0] is ',' or ';' || StartsWithWord(after, "from") || StartsWithWord(after, "as");
            if (!itemStart || !itemEnd || !InSelectList(text, start))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether position <paramref name="at"/> sits directly in a select list (top level, or a subquery's), not in call arguments.</summary>
    private static bool InSelectList(string text, int at)
    {
        int depth = 0;
        for (int i = at - 1; i >= 0; i--)
        {
            if (text[i] == ')')
            {
                depth++;
            }
            else if (text[i] == '(')
            {
                if (depth == 0)
                {
                    return text[(i + 1)..].TrimStart().StartsWith("select", StringComparison.Ordinal);
                }
                depth--;
            }
        }
        return true;
    }

    private static bool EndsWithWord(string text, string word) =>
        text.EndsWith(word, StringComparison.Ordinal) && (text.Length == word.Length || !char.IsLetterOrDigit(text[^(word.Length + 1)]));

    private static bool StartsWithWord(string text, string word) =>
        text.StartsWith(word, StringComparison.Ordinal) && (text.Length == word.Length || !char.IsLetterOrDigit(text[word.Length]) && text[word.Length] != '_');

    private static readonly HashSet<string> NotAliases = new(StringComparer.Ordinal)
    {
        "where", "join", "inner", "left", "right", "full", "cross", "natural", "on", "using", "group", "order", "limit", "offset",
        "union", "except", "intersect", "lateral", "for", "window", "having", "set", "returning", "values", "fetch", "tablesample",
        "only", "as", "select", "from", "into", "default", "do", "when", "then", "and", "or",
    };

    /// <summary>
    /// Whether the relation's name or alias is used as a value: it occurs, not followed by a dot, more often than where it
    /// is introduced (after FROM/JOIN/UPDATE/INTO/comma, or as the alias after the name).
    /// </summary>
    private static bool WholeRowReference(string text, string name)
    {
        var words = Words(text);
        var names = new HashSet<string>(StringComparer.Ordinal) { name };
        for (int i = 0; i < words.Count; i++)
        {
            if (words[i].Word == name && !words[i].Dotted)
            {
                int next = i + 1 < words.Count && words[i + 1].Word == "as" ? i + 2 : i + 1;
                if (next < words.Count && !NotAliases.Contains(words[next].Word) && !words[next].Dotted && !words[next].AfterDot)
                {
                    names.Add(words[next].Word);
                }
            }
        }

        foreach (var candidate in names)
        {
            int uses = 0, introductions = 0;
            for (int i = 0; i < words.Count; i++)
            {
                if (words[i].Word != candidate || words[i].Dotted || words[i].AfterDot)
                {
                    continue;
                }
                string previous = i > 0 ? words[i - 1].Word : "";
                bool introduced = previous is "from" or "join" or "update" or "into" or "table" or "only" || words[i].AfterComma && previous.Length > 0
                    || (candidate != name && (previous == name || previous == "as" && i > 1 && words[i - 2].Word == name));
                if (introduced)
                {
                    introductions++;
                }
                else
                {
                    uses++;
                }
            }
            if (uses > 0)
            {
                return true;
            }
        }
        return false;
    }

    private readonly record struct TextWord(string Word, bool Dotted, bool AfterDot, bool AfterComma);

    /// <summary>Unquoted words of normalized SQL, with whether a dot follows or precedes them and whether a comma precedes.</summary>
    private static List<TextWord> Words(string text)
    {
        var words = new List<TextWord>();
        int i = 0;
        bool afterComma = false;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '\'')
            {
                // Literals are not names.
                int end = text.IndexOf('\'', i + 1);
                i = end < 0 ? text.Length : end + 1;
                afterComma = false;
                continue;
            }
            if (char.IsLetter(c) || c == '_' || c == '"')
            {
                int start = i;
                if (c == '"')
                {
                    int end = text.IndexOf('"', i + 1);
                    i = end < 0 ? text.Length : end + 1;
                }
                else
                {
                    while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '$'))
                    {
                        i++;
                    }
                }
                string word = text[start..i].Trim('"');
                int after = i;
                while (after < text.Length && text[after] == ' ')
                {
                    after++;
                }
                int before = start - 1;
                while (before >= 0 && text[before] == ' ')
                {
                    before--;
                }
                words.Add(new TextWord(word, after < text.Length && text[after] == '.', before >= 0 && text[before] == '.', afterComma));
                afterComma = false;
                continue;
            }
            if (c != ' ')
            {
                afterComma = c == ',';
            }
            i++;
        }
        return words;
    }

    private static bool ContainsWord(string text, string word)
    {
        for (int i = text.IndexOf(word, StringComparison.OrdinalIgnoreCase); i >= 0; i = text.IndexOf(word, i + 1, StringComparison.OrdinalIgnoreCase))
        {
            bool start = i == 0 || !IsWordChar(text[i - 1]);
            bool end = i + word.Length == text.Length || !IsWordChar(text[i + word.Length]);
            if (start && end)
            {
                return true;
            }
        }
        return false;

        static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '$';
    }

    /// <summary>Builds the plan for a result shape; false with <see cref="MissingOids"/> filled when the catalog must be asked first.</summary>
    private bool TryCreatePlan(PgField[] fields, string[] names, bool tainted, out PgMaskPlan plan)
    {
        var mask = MaskPolicy;
        if (IsLastPlanFor(fields, names, tainted, mask))
        {
            plan = _lastPlan!;
            return true;
        }
        plan = null!;
        MissingOids.Clear();
        foreach (var field in fields)
        {
            if (field.TableOid != 0 && mask.HasColumnRules && (_catalog is null || !_catalog.TryGet(field.TableOid, out _)) && !MissingOids.Contains(field.TableOid))
            {
                MissingOids.Add(field.TableOid);
            }
        }
        if (MissingOids.Count > 0 && _catalog is not null)
        {
            return false;
        }

        plan = PgMaskPlan.Create(fields, names, (_, field) =>
        {
            if (field.TableOid == 0)
            {
                return tainted ? (mask.Full, null) : (null, mask.Scanner);
            }
            if (mask.HasColumnRules)
            {
                var relation = _catalog is not null && _catalog.TryGet(field.TableOid, out var info) ? info : PgRelationInfo.Missing;
                if (mask.StyleFor(relation, field.AttributeNumber) is { } style)
                {
                    return (mask.Masker(style), null);
                }
            }
            return (null, mask.ScanAllText ? mask.Scanner : null);
        });
        RememberPlan(plan, fields, names, tainted, mask);
        return true;
    }

    // The last plan and everything it was made from: the same shape under the same rules and catalog entries gets the
    // same plan, so a repeated statement does not build one per execution. Catalog entries are replaced, never changed,
    // so comparing references tells whether the catalog still says the same.
    private PgMaskPlan? _lastPlan;
    private PgField[] _lastPlanFields = [];
    private string[] _lastPlanNames = [];
    private bool _lastPlanTainted;
    private PgMaskPolicy? _lastPlanPolicy;
    private readonly List<(uint Oid, PgRelationInfo Info)> _lastPlanRelations = [];
    private int _lastPlanGeneration;
    private long _lastPlanValidUntil;

    private bool IsLastPlanFor(PgField[] fields, string[] names, bool tainted, PgMaskPolicy mask)
    {
        if (_lastPlan is null || tainted != _lastPlanTainted || !ReferenceEquals(mask, _lastPlanPolicy)
            || !fields.AsSpan().SequenceEqual(_lastPlanFields) || !names.AsSpan().SequenceEqual(_lastPlanNames))
        {
            return false;
        }
        if (_catalog is null)
        {
            return _lastPlanRelations.Count == 0;
        }
        int generation = _catalog.Generation;
        if (generation == _lastPlanGeneration && _enforcement.Time.GetTimestamp() < _lastPlanValidUntil)
        {
            // Nothing in the catalog changed or expired since the entries were last compared.
            return true;
        }
        long validUntil = long.MaxValue;
        foreach (var (oid, info) in _lastPlanRelations)
        {
            if (!_catalog.TryGet(oid, out var now, ref validUntil) || !ReferenceEquals(now, info))
            {
                return false;
            }
        }
        (_lastPlanGeneration, _lastPlanValidUntil) = (generation, validUntil);
        return true;
    }

    private void RememberPlan(PgMaskPlan plan, PgField[] fields, string[] names, bool tainted, PgMaskPolicy mask)
    {
        _lastPlanRelations.Clear();
        // Read before the entries, so a change made meanwhile makes the next comparison look at them again.
        int generation = _catalog?.Generation ?? 0;
        long validUntil = long.MaxValue;
        if (_catalog is not null)
        {
            foreach (var field in fields)
            {
                if (field.TableOid != 0 && !_lastPlanRelations.Exists(r => r.Oid == field.TableOid) && _catalog.TryGet(field.TableOid, out var info, ref validUntil))
                {
                    _lastPlanRelations.Add((field.TableOid, info));
                }
            }
        }
        (_lastPlanGeneration, _lastPlanValidUntil) = (generation, validUntil);
        _lastPlan = plan;
        _lastPlanFields = fields;
        _lastPlanNames = names;
        _lastPlanTainted = tainted;
        _lastPlanPolicy = mask;
    }

    /// <summary>Masks the detector-visible fields of an ErrorResponse or NoticeResponse in place.</summary>
    private void MaskNoticeFields(Span<byte> body)
    {
        if (MaskPolicy.Scanner is not { } scanner)
        {
            return;
        }
        int position = 0;
        while (position < body.Length && body[position] != 0)
        {
            byte field = body[position++];
            int end = body[position..].IndexOf((byte)0);
            if (end < 0)
            {
                return;
            }
            // Message, detail, hint, context, internal query: where values are echoed. Codes and names stay readable.
            if (field is (byte)'M' or (byte)'D' or (byte)'H' or (byte)'W' or (byte)'q')
            {
                _masked += scanner.MaskInPlace(body.Slice(position, end));
            }
            position += end + 1;
        }
    }

    private void MaskNotification(Span<byte> body)
    {
        if (MaskPolicy.Scanner is not { } scanner || body.Length < 4)
        {
            return;
        }
        var rest = body[4..];
        int channelEnd = rest.IndexOf((byte)0);
        if (channelEnd >= 0)
        {
            var payload = rest[(channelEnd + 1)..];
            int payloadEnd = payload.IndexOf((byte)0);
            _masked += scanner.MaskInPlace(payloadEnd >= 0 ? payload[..payloadEnd] : payload);
        }
    }

    private void MaskParameterValue(Span<byte> body)
    {
        if (MaskPolicy.Scanner is not { } scanner)
        {
            return;
        }
        int nameEnd = body.IndexOf((byte)0);
        if (nameEnd >= 0)
        {
            var value = body[(nameEnd + 1)..];
            int valueEnd = value.IndexOf((byte)0);
            _masked += scanner.MaskInPlace(valueEnd >= 0 ? value[..valueEnd] : value);
        }
    }

    private void MaskFunctionResult(Span<byte> body)
    {
        if (MaskPolicy.Scanner is not { } scanner || body.Length < 4)
        {
            return;
        }
        int length = BinaryPrimitives.ReadInt32BigEndian(body);
        if (length > 0 && length <= body.Length - 4)
        {
            _masked += scanner.MaskInPlace(body.Slice(4, length));
        }
    }
}
