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
    private PgMaskPolicy? _mask;
    private SessionPolicy? _maskSource;

    // Server-pump state: result shapes of described statements and portals, and the plan of the rows now arriving.
    private readonly Dictionary<string, PgField[]> _statementShapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (PgField[] Fields, string[] Names)> _portalShapes = new(StringComparer.Ordinal);
    private PgMaskPlan? _rowPlan;

    /// <summary>What must be looked up before the message at hand can be judged (names) or masked (OIDs).</summary>
    public List<string> MissingNames { get; } = [];

    public List<uint> MissingOids { get; } = [];

    public PgCatalog? Catalog => _catalog;

    /// <summary>The session's mask rules, compiled; rebuilt when the rules reload.</summary>
    private PgMaskPolicy MaskPolicy
    {
        get
        {
            var policy = Policy;
            if (_mask is null || !ReferenceEquals(_maskSource, policy))
            {
                _mask = new PgMaskPolicy(policy.MaskRules, _maskKey);
                _maskSource = policy;
            }
            return _mask;
        }
    }

    /// <summary>Whether results are masked at all in this session (read by the server pump for every row).</summary>
    public bool Masks => _mask?.IsActive ?? MaskPolicy.IsActive;

    /// <summary>
    /// Whether a statement may compute with masked values (DESIGN.md §3): it reads a relation with a masked column (a view
    /// over one, a partition of one, or a relation Wire's catalog connection cannot see), or names a masked column. Its
    /// expression columns are then masked whole, since detectors cannot recognise md5, base64 or substrings. False with
    /// <see cref="MissingNames"/> filled when the catalog must be asked first.
    /// </summary>
    private bool? IsTainted(IReadOnlyList<PgStatement> statements)
    {
        var mask = MaskPolicy;
        if (!mask.HasColumnRules)
        {
            return false;
        }

        bool tainted = false;
        MissingNames.Clear();
        foreach (var statement in statements)
        {
            foreach (var word in mask.ColumnNames)
            {
                if (ContainsWord(statement.NormalizedText, word))
                {
                    tainted = true;
                }
            }
            foreach (var relation in statement.Relations)
            {
                _relations.Clear();
                if (_catalog is null)
                {
                    tainted = true;
                }
                else if (!_catalog.TryGetByName(relation, _relations))
                {
                    MissingNames.Add(relation);
                }
                else if (_relations.Count == 0 || _relations.Exists(mask.MasksAnyColumnOf))
                {
                    // Not in the catalog Wire sees (created in the client's open transaction) or holding masked columns.
                    tainted = true;
                }
            }
        }
        return MissingNames.Count > 0 ? null : tainted;
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
        return true;
    }

    /// <summary>Masks the detector-visible fields of an ErrorResponse or NoticeResponse in place.</summary>
    private void MaskNoticeFields(Span<byte> body)
    {
        if (_mask?.Scanner is not { } scanner)
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
                scanner.MaskInPlace(body.Slice(position, end));
            }
            position += end + 1;
        }
    }

    private void MaskNotification(Span<byte> body)
    {
        if (_mask?.Scanner is not { } scanner || body.Length < 4)
        {
            return;
        }
        var rest = body[4..];
        int channelEnd = rest.IndexOf((byte)0);
        if (channelEnd >= 0)
        {
            var payload = rest[(channelEnd + 1)..];
            int payloadEnd = payload.IndexOf((byte)0);
            scanner.MaskInPlace(payloadEnd >= 0 ? payload[..payloadEnd] : payload);
        }
    }

    private void MaskParameterValue(Span<byte> body)
    {
        if (_mask?.Scanner is not { } scanner)
        {
            return;
        }
        int nameEnd = body.IndexOf((byte)0);
        if (nameEnd >= 0)
        {
            var value = body[(nameEnd + 1)..];
            int valueEnd = value.IndexOf((byte)0);
            scanner.MaskInPlace(valueEnd >= 0 ? value[..valueEnd] : value);
        }
    }

    private void MaskFunctionResult(Span<byte> body)
    {
        if (_mask?.Scanner is not { } scanner || body.Length < 4)
        {
            return;
        }
        int length = BinaryPrimitives.ReadInt32BigEndian(body);
        if (length > 0 && length <= body.Length - 4)
        {
            scanner.MaskInPlace(body.Slice(4, length));
        }
    }
}
