using System.Collections;
using System.Diagnostics;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Wire.Enforcement.Policy;
using Wire.Postgres.Tests.Enforcement;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Postgres.Tests.Proxy;
using Wire.Testing;

namespace Wire.Postgres.Tests.Diagnostics;

/// <summary>
/// The <c>Wire</c> Meter and ActivitySource through OpenTelemetry's SDK and in-memory exporters, with real Npgsql
/// statements through Wire: the attribute names are OpenTelemetry's semantic conventions (docs/admin-api.md,
/// "Telemetry"), command spans hang under their session's span, and no span carries query text or a masked value.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OpenTelemetryTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Sessions_commands_and_metrics_reach_the_OpenTelemetry_SDK_under_convention_names()
    {
        // Process-wide sources: other tests' sessions may show up too, so spans are picked by this test's table (and
        // then by its session's trace), and counters are compared with >=.
        var spans = new LockedCollection<Activity>();
        var metrics = new LockedCollection<MetricSnapshot>();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder().AddSource("Wire").AddInMemoryExporter(spans).Build();
        using var meterProvider = Sdk.CreateMeterProviderBuilder().AddMeter("Wire").AddInMemoryExporter(metrics).Build();

        string table = "otel_" + Guid.NewGuid().ToString("n")[..12];
        string email = $"secret-{Guid.NewGuid():n}@example.com";
        string marker = "marker-" + Guid.NewGuid().ToString("n")[..12];
        var rules = RuleSet.Create(
        [
            new RuleDefinition { Name = "no-drop", Action = PolicyAction.Deny, Statements = [StatementKind.Drop] },
            new RuleDefinition { Name = "pii", Action = PolicyAction.Mask, Columns = [$"public.{table}.email"], Style = "full" },
        ]);
        await using var h = EnforcementHarness.Start(fixture, rules);
        await h.DirectScalarAsync($"""
            CREATE TABLE public.{table} (id int PRIMARY KEY, email text, note text);
            INSERT INTO public.{table} VALUES (1, '{email}', 'a'), (2, '{email}', 'b');
            ALTER TABLE public.{table} OWNER TO {PostgresFixture.ScramUser};
            """);

        await using (var connection = await h.Wire.OpenClientAsync())
        {
            // Allowed, and its text carries a literal that must never reach a span.
            await using (var count = new NpgsqlCommand($"SELECT count(*) FROM {table} WHERE note <> '{marker}'", connection))
            {
                Assert.Equal(2L, await count.ExecuteScalarAsync());
            }
            // Allowed, with a masked result.
            var seen = new List<string>();
            await using (var select = new NpgsqlCommand($"SELECT email FROM {table} ORDER BY id", connection))
            await using (var reader = await select.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    seen.Add(reader.GetString(0));
                }
            }
            Assert.Equal([new string('*', email.Length), new string('*', email.Length)], seen);
            // Denied by a rule.
            await using (var drop = new NpgsqlCommand($"DROP TABLE {table}", connection))
            {
                await Assert.ThrowsAsync<PostgresException>(() => drop.ExecuteNonQueryAsync());
            }
        }
        Assert.True(await h.ExistsAsync(table));

        // The session span ends when Wire has finished with the closed connection.
        Activity? session = null;
        Assert.True(await Eventually.WaitAsync(() => (session = SessionOf(spans.Snapshot(), table)) is not null),
            "no wire.session span above this test's wire.command spans; spans seen: "
            + string.Join(", ", spans.Snapshot().Select(a => a.OperationName).Distinct()));
        Assert.True(tracerProvider.ForceFlush(10_000));
        Assert.True(meterProvider.ForceFlush(10_000));

        var trace = spans.Snapshot().Where(a => a.TraceId == session!.TraceId).ToList();
        Assert.Equal(ActivityKind.Server, session!.Kind);
        Assert.Equal("postgresql", session.GetTagItem("network.protocol.name"));
        Assert.Equal("127.0.0.1", session.GetTagItem("client.address"));
        Assert.IsType<int>(session.GetTagItem("client.port"));
        Assert.Equal(h.Wire.Port, session.GetTagItem("server.port"));
        Assert.Null(session.GetTagItem("wire.protocol"));

        var commands = trace.Where(a => a.OperationName == "wire.command").ToList();
        Assert.NotEmpty(commands);
        Assert.All(commands, c =>
        {
            Assert.Equal(session.SpanId, c.ParentSpanId);
            Assert.Equal("postgresql", c.GetTagItem("network.protocol.name"));
            Assert.Equal("postgresql", c.GetTagItem("db.system.name"));
            Assert.Equal(WireProxyHarness.TargetName, c.GetTagItem("db.namespace"));
            Assert.Equal(WireProxyHarness.Subject, c.GetTagItem("user.id"));
        });

        var ours = commands.Where(c => IsTable(c.GetTagItem("db.collection.name"), table)).ToList();
        Assert.Equal(2, ours.Count(c => (string?)c.GetTagItem("db.operation.name") == "SELECT"));
        Assert.All(ours.Where(c => (string?)c.GetTagItem("db.operation.name") == "SELECT"), c =>
        {
            Assert.Equal("allow", c.GetTagItem("wire.verdict"));
            Assert.Null(c.GetTagItem("error.type"));
            Assert.Equal(ActivityStatusCode.Unset, c.Status);
        });
        var dropped = Assert.Single(ours, c => (string?)c.GetTagItem("db.operation.name") == "DROP");
        Assert.Equal("deny", dropped.GetTagItem("wire.verdict"));
        Assert.Equal("no-drop", dropped.GetTagItem("wire.rule"));
        Assert.Equal("denied", dropped.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, dropped.Status);

        // Nothing a statement says or returns is on a span: not its text, its literal, the masked value nor the token.
        foreach (var span in trace)
        {
            foreach (var (key, value) in span.TagObjects)
            {
                string text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                string where = $"{span.OperationName} {key}";
                Assert.False(text.Contains(marker, StringComparison.Ordinal), $"{where} carries query text");
                Assert.False(text.Contains("FROM", StringComparison.OrdinalIgnoreCase), $"{where} carries query text: {text}");
                Assert.False(text.Contains(email, StringComparison.Ordinal), $"{where} carries a masked value");
                Assert.False(text.Contains(WireProxyHarness.Token, StringComparison.Ordinal), $"{where} carries the token");
            }
            Assert.DoesNotContain(marker, span.DisplayName, StringComparison.Ordinal);
        }

        // Metrics: the latest export of each instrument, its points picked by their attributes.
        Assert.True(Sum(metrics, "wire.commands", ("network.protocol.name", "postgresql"), ("wire.verdict", "allow")) >= 2);
        Assert.True(Sum(metrics, "wire.commands", ("network.protocol.name", "postgresql"), ("wire.verdict", "deny")) >= 1);
        Assert.True(Sum(metrics, "wire.connections", ("network.protocol.name", "postgresql")) >= 1);
        Assert.True(Sum(metrics, "wire.bytes", ("network.protocol.name", "postgresql"), ("wire.direction", "to_upstream")) > 0);
        Assert.True(Sum(metrics, "wire.bytes", ("network.protocol.name", "postgresql"), ("wire.direction", "to_client")) > 0);
        Assert.True(Sum(metrics, "wire.masked", ("network.protocol.name", "postgresql")) >= 2);
        Assert.DoesNotContain(Latest(metrics).Values.SelectMany(m => m.MetricPoints), p => Has(p, "wire.protocol", null));
    }

    /// <summary>The session span whose trace holds a command span on <paramref name="table"/>, once both have ended.</summary>
    private static Activity? SessionOf(List<Activity> spans, string table)
    {
        var command = spans.FirstOrDefault(a =>
            a.OperationName == "wire.command" && IsTable(a.GetTagItem("db.collection.name"), table));
        return command is null
            ? null
            : spans.FirstOrDefault(a =>
                a.OperationName == "wire.session" && a.TraceId == command.TraceId && a.SpanId == command.ParentSpanId);
    }

    private static bool IsTable(object? relation, string table) => relation is string name && (name == table || name == "public." + table);

    private static Dictionary<string, MetricSnapshot> Latest(LockedCollection<MetricSnapshot> metrics)
    {
        var latest = new Dictionary<string, MetricSnapshot>(StringComparer.Ordinal);
        foreach (var metric in metrics.Snapshot())
        {
            latest[metric.Name] = metric; // exports are appended in order
        }
        return latest;
    }

    private static long Sum(LockedCollection<MetricSnapshot> metrics, string name, params (string Key, string Value)[] tags)
    {
        var latest = Latest(metrics);
        Assert.True(latest.TryGetValue(name, out var metric), $"{name} was not exported; exported: {string.Join(", ", latest.Keys)}");
        long sum = 0;
        foreach (var point in metric!.MetricPoints)
        {
            if (tags.All(t => Has(point, t.Key, t.Value)))
            {
                sum += metric.MetricType.IsSum() ? point.GetSumLong() : point.GetHistogramCount();
            }
        }
        return sum;
    }

    /// <summary>Whether the point has the attribute, with <paramref name="value"/> (any value when null).</summary>
    private static bool Has(MetricPoint point, string key, string? value)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key && (value is null || value.Equals(tag.Value as string, StringComparison.Ordinal)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>An exporter's target that other sessions' exports may add to while the test reads it.</summary>
    private sealed class LockedCollection<T> : ICollection<T>
    {
        private readonly List<T> _items = [];
        private readonly Lock _gate = new();

        public int Count
        {
            get
            {
                lock (_gate)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<T> Snapshot()
        {
            lock (_gate)
            {
                return [.. _items];
            }
        }

        public void Add(T item)
        {
            lock (_gate)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_gate)
            {
                _items.Clear();
            }
        }

        public bool Contains(T item)
        {
            lock (_gate)
            {
                return _items.Contains(item);
            }
        }

        public void CopyTo(T[] array, int arrayIndex)
        {
            lock (_gate)
            {
                _items.CopyTo(array, arrayIndex);
            }
        }

        public bool Remove(T item)
        {
            lock (_gate)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
