using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Sample.Host;

/// <summary>A rule written in code: on targets whose name ends in "-replica", nothing but reads runs.</summary>
public sealed class ReplicaIsReadOnly : IAccessRule
{
    private static readonly StatementKindSet Reads = StatementKindSet.Of(StatementKind.Select).With(StatementKind.Set)
        .With(StatementKind.Transaction);

    /// <inheritdoc />
    public string Name => "replica-is-read-only";

    /// <inheritdoc />
    public Verdict? Evaluate(WireProtocol protocol, string target, WireIdentity identity, in AccessRequest request)
    {
        if (protocol != WireProtocol.Postgres || !target.EndsWith("-replica", StringComparison.Ordinal))
        {
            return null;
        }
        return request.Kinds.Union(Reads) == Reads ? null : Verdict.Deny(Name, "replicas are read-only");
    }
}
