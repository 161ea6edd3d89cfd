using System.Text;
using BenchmarkDotNet.Attributes;
using Wire.Postgres.Sql;

namespace Wire.Benchmarks.Pg;

/// <summary>
/// What the proxy pays per SQL text: lexing alone, a full classification (lex, split, analyze, build the result), and a
/// cache hit (the steady state: clients repeat their statements), for a pgbench-style OLTP statement and a 2 KB report.
/// </summary>
[MemoryDiagnoser]
public class PgSqlClassifierBenchmarks
{
    private static readonly byte[] Oltp = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"u8.ToArray();

    private static readonly byte[] Report = Encoding.UTF8.GetBytes("""
        -- Monthly revenue report: per region and product line, with the previous month and the year to date.
        WITH months AS (
            SELECT date_trunc('month', o.ordered_at) AS month, o.region_id, p.line_id,
                   sum(oi.quantity * oi.unit_price) AS revenue, count(DISTINCT o.customer_id) AS customers
            FROM sales.orders o
            JOIN sales.order_items oi ON oi.order_id = o.id
            JOIN catalog.products p ON p.id = oi.product_id
            WHERE o.status IN ('paid', 'shipped', 'delivered')
              AND o.ordered_at >= date_trunc('year', now()) - interval '1 year'
            GROUP BY 1, 2, 3
        ), ranked AS (
            SELECT m.*, lag(m.revenue) OVER (PARTITION BY m.region_id, m.line_id ORDER BY m.month) AS previous,
                   sum(m.revenue) OVER (PARTITION BY m.region_id, m.line_id, date_trunc('year', m.month)
                                        ORDER BY m.month ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ytd,
                   rank() OVER (PARTITION BY m.month ORDER BY m.revenue DESC) AS position
            FROM months m
        )
        SELECT r.name AS region, l.name AS line, to_char(k.month, 'YYYY-MM') AS month, k.revenue, k.customers,
               CASE WHEN k.previous IS NULL OR k.previous = 0 THEN NULL
                    ELSE round(100.0 * (k.revenue - k.previous) / k.previous, 1) END AS growth_pct,
               k.ytd, k.position,
               (SELECT count(*) FROM sales.returns x WHERE x.region_id = k.region_id
                  AND date_trunc('month', x.returned_at) = k.month) AS returns,
               coalesce(t.target, 0) AS target,
               k.revenue >= coalesce(t.target, 0) AS met
        FROM ranked k
        JOIN geo.regions r ON r.id = k.region_id
        JOIN catalog.lines l ON l.id = k.line_id
        LEFT JOIN finance.targets t ON t.region_id = k.region_id AND t.line_id = k.line_id AND t.month = k.month
        WHERE k.month >= $1::date AND k.month < $2::date
          AND NOT EXISTS (SELECT 1 FROM geo.embargoes e WHERE e.region_id = r.id AND e.active)
          AND l.name NOT LIKE 'internal%'
        ORDER BY region, line, month
        LIMIT 500;
        """);

    private readonly PgClassificationCache _cache = new();

    [GlobalSetup]
    public void Setup()
    {
        _cache.Classify(Oltp, standardConformingStrings: true);
        _cache.Classify(Report, standardConformingStrings: true);
        Console.WriteLine($"// report query: {Report.Length} bytes, {Count(Report)} tokens");
    }

    [Benchmark(Baseline = true)]
    public int LexOltp() => Count(Oltp);

    [Benchmark]
    public int LexReport() => Count(Report);

    [Benchmark]
    public object ClassifyOltp() => PgSqlClassifier.Classify(Oltp, standardConformingStrings: true);

    [Benchmark]
    public object ClassifyReport() => PgSqlClassifier.Classify(Report, standardConformingStrings: true);

    [Benchmark]
    public object CacheHitOltp() => _cache.Classify(Oltp, standardConformingStrings: true);

    [Benchmark]
    public object CacheHitReport() => _cache.Classify(Report, standardConformingStrings: true);

    private static int Count(byte[] sql)
    {
        var lexer = new PgSqlLexer(sql, standardConformingStrings: true);
        int count = 0;
        while (lexer.Next(out _))
        {
            count++;
        }

        return count;
    }
}
