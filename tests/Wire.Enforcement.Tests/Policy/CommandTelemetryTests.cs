using System.Collections.Concurrent;
using System.Diagnostics;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Tests.Policy;

/// <summary>
/// The <c>wire.command</c> span of each judged execution carries OpenTelemetry's convention attributes, built only from
/// what the rules hold (never the command text), per protocol (docs/admin-api.md, "Telemetry").
/// </summary>
public sealed class CommandTelemetryTests
{
    private static readonly RuleSet Rules = RuleSet.Create(
    [
        new RuleDefinition { Name = "no-drop", Action = PolicyAction.Deny, Statements = [StatementKind.Drop] },
        new RuleDefinition { Name = "no-admin", Action = PolicyAction.Deny, Paths = ["/admin/*"] },
    ]);

    [Fact]
    public void PostgreSQL_executions_carry_the_database_conventions()
    {
        var spans = Judge(WireProtocol.Postgres, policy =>
        {
            policy.Evaluate(new AccessRequest(
                StatementKindSet.Of(StatementKind.Select), false, ["public.orders"], [], "select * from orders where id = $1"));
            policy.Evaluate(new AccessRequest(StatementKindSet.Of(StatementKind.Drop), false, ["orders"], [], "drop table orders"));
            // Two kinds, two relations, a kind that stands for several keywords: no single name to give.
            policy.Evaluate(new AccessRequest(
                StatementKindSet.Of(StatementKind.Execute).With(StatementKind.Delete), false, ["a", "b"], [], "execute p"));
            policy.Evaluate(new AccessRequest(StatementKindSet.Of(StatementKind.Set), false, [], [], "reset role"));
        });

        Assert.Equal(4, spans.Count);
        Assert.All(spans, s =>
        {
            Assert.Equal("postgresql", s.GetTagItem("network.protocol.name"));
            Assert.Equal("postgresql", s.GetTagItem("db.system.name"));
            Assert.Equal("bob", s.GetTagItem("user.id"));
            Assert.NotNull(s.GetTagItem("db.namespace"));
            Assert.Null(s.GetTagItem("wire.target"));
            Assert.Null(s.GetTagItem("wire.protocol"));
        });
        Assert.Equal(("SELECT", "public.orders", "allow"), Tags(spans[0]));
        Assert.Null(spans[0].GetTagItem("error.type"));
        Assert.Equal(("DROP", "orders", "deny"), Tags(spans[1]));
        Assert.Equal("denied", spans[1].GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, spans[1].Status);
        Assert.Equal("no-drop", spans[1].GetTagItem("wire.rule"));
        Assert.Equal((null, null, "allow"), Tags(spans[2]));
        Assert.Equal((null, null, "allow"), Tags(spans[3]));
        AssertNoText(spans, "where id", "$1", "drop table", "execute p", "reset role");
    }

    [Fact]
    public void HTTP_requests_carry_the_method_and_path_but_not_the_query()
    {
        var spans = Judge(WireProtocol.Http, policy =>
        {
            policy.Evaluate(AccessRequest.ForHttp(
                new HttpAccess("GET", "api.internal", "/v1/items"), "GET /v1/items?token=s3cr3t"));
            policy.Evaluate(AccessRequest.ForHttp(new HttpAccess("DELETE", "api.internal", "/admin/users/1"), "DELETE /admin/users/1"));
            policy.Evaluate(AccessRequest.ForHttp(new HttpAccess("PURGE", "api.internal", "/cache"), "PURGE /cache"));
        });

        Assert.Equal(3, spans.Count);
        Assert.All(spans, s =>
        {
            Assert.Equal("http", s.GetTagItem("network.protocol.name"));
            Assert.Null(s.GetTagItem("db.system.name"));
            Assert.NotNull(s.GetTagItem("wire.target"));
        });
        Assert.Equal(("GET", "/v1/items"), (spans[0].GetTagItem("http.request.method"), spans[0].GetTagItem("url.path")));
        Assert.Null(spans[0].GetTagItem("http.request.method_original"));
        Assert.Equal("denied", spans[1].GetTagItem("error.type"));
        var purge = spans[2];
        Assert.Equal(("_OTHER", "PURGE"), (purge.GetTagItem("http.request.method"), purge.GetTagItem("http.request.method_original")));
        AssertNoText(spans, "token", "s3cr3t", "?");
    }

    [Fact]
    public void SSH_actions_carry_no_command_line()
    {
        var spans = Judge(WireProtocol.Ssh, policy =>
            policy.Evaluate(AccessRequest.ForSsh(new SshAccess("exec", "cat /etc/shadow", null))));

        var span = Assert.Single(spans);
        Assert.Equal("ssh", span.GetTagItem("network.protocol.name"));
        Assert.Null(span.GetTagItem("db.operation.name"));
        AssertNoText(spans, "shadow");
    }

    [Fact]
    public void Kinds_name_their_SQL_keyword_only_when_one_keyword_fits()
    {
        Assert.Equal(StatementKindNames.All.Count, Enum.GetValues<StatementKind>().Length);
        foreach (var kind in Enum.GetValues<StatementKind>())
        {
            string? keyword = StatementKindNames.SqlKeyword(kind);
            string name = StatementKindNames.Name(kind);
            if (kind is StatementKind.Other or StatementKind.Set or StatementKind.Transaction or StatementKind.Listen)
            {
                Assert.Null(keyword);
            }
            else
            {
                // The keyword is the config name's first word (copy-to: COPY).
                Assert.Equal(name.Split('-')[0].ToUpperInvariant(), keyword);
            }
            Assert.True(StatementKindSet.Of(kind).TryGetSingle(out var single));
            Assert.Equal(kind, single);
        }
        Assert.False(StatementKindSet.Empty.TryGetSingle(out _));
        Assert.False(StatementKindSet.Of(StatementKind.Select).With(StatementKind.Delete).TryGetSingle(out _));
    }

    private static (object? Operation, object? Collection, object? Verdict) Tags(Activity span) =>
        (span.GetTagItem("db.operation.name"), span.GetTagItem("db.collection.name"), span.GetTagItem("wire.verdict"));

    private static void AssertNoText(List<Activity> spans, params string[] fragments)
    {
        foreach (var span in spans)
        {
            foreach (var (key, value) in span.TagObjects)
            {
                foreach (string fragment in fragments)
                {
                    bool carries = value is string s && s.Contains(fragment, StringComparison.OrdinalIgnoreCase);
                    Assert.False(carries, $"{key} carries \"{fragment}\"");
                }
            }
        }
    }

    /// <summary>The <c>wire.command</c> spans <paramref name="run"/> makes, in order, for a target no other test uses.</summary>
    private static List<Activity> Judge(WireProtocol protocol, Action<SessionPolicy> run)
    {
        string target = "telemetry-" + Guid.NewGuid().ToString("n");
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Wire",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        run(Rules.ForSession(protocol, target, new WireIdentity("bob", ["eng"], "static-token")));
        return stopped.Where(a => a.OperationName == "wire.command"
            && (Equals(a.GetTagItem("db.namespace"), target) || Equals(a.GetTagItem("wire.target"), target))).ToList();
    }
}
