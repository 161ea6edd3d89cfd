using System.Text;
using Wire.Enforcement.Policy;
using Wire.Postgres.Sql;

namespace Wire.Postgres.Tests.Sql;

public sealed class PgClassificationCacheTests
{
    private static readonly byte[] Oltp = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"u8.ToArray();

    [Fact]
    public void A_text_is_kept_the_second_time_it_is_seen_and_then_hits()
    {
        var cache = new PgClassificationCache();
        PgSqlScript once = cache.Classify(Oltp, standardConformingStrings: true);
        Assert.Equal(0, cache.Count); // seen once: classified, not kept
        PgSqlScript kept = cache.Classify(Oltp.ToArray(), standardConformingStrings: true);
        Assert.NotSame(once, kept);
        Assert.Equal(1, cache.Count);
        Assert.Same(kept, cache.Classify(Oltp.ToArray(), standardConformingStrings: true));
    }

    [Fact]
    public void Texts_seen_once_are_never_kept()
    {
        // The simple protocol's literals make every text new: none of them may fill the cache (and the old generation).
        var cache = new PgClassificationCache(capacity: 64);
        for (int i = 0; i < 10_000; i++)
        {
            cache.Classify(Encoding.UTF8.GetBytes($"UPDATE pgbench_accounts SET abalance = abalance + {i} WHERE aid = {i * 7}"), true);
        }
        Assert.InRange(cache.Count, 0, 2); // at most a hash collision or two
    }

    /// <summary>Classifies <paramref name="sql"/> twice, so that the cache keeps it; returns the kept script.</summary>
    private static PgSqlScript Keep(PgClassificationCache cache, byte[] sql, bool standard)
    {
        cache.Classify(sql, standard);
        return cache.Classify(sql, standard);
    }

    [Fact]
    public void The_string_mode_is_part_of_the_key()
    {
        var cache = new PgClassificationCache();
        byte[] sql = Encoding.UTF8.GetBytes("SELECT 'x\\''; DROP TABLE t; --'");
        PgSqlScript on = Keep(cache, sql, standard: true);
        PgSqlScript off = Keep(cache, sql, standard: false);
        Assert.Single(on.Statements);
        Assert.Equal(2, off.Statements.Count);
        Assert.Same(off, cache.Classify(sql, standardConformingStrings: false));
        Assert.Same(on, cache.Classify(sql, standardConformingStrings: true));
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void A_full_cache_evicts_the_oldest_entry()
    {
        var cache = new PgClassificationCache(capacity: 3);
        byte[][] texts = [.. Enumerable.Range(0, 5).Select(i => Encoding.UTF8.GetBytes($"SELECT {i}"))];
        PgSqlScript[] scripts = [.. texts.Select(t => Keep(cache, t, true))];
        Assert.Equal(3, cache.Count);

        // 0 and 1 were evicted; 2, 3 and 4 are still there.
        Assert.Same(scripts[4], cache.Classify(texts[4], true));
        Assert.Same(scripts[2], cache.Classify(texts[2], true));
        Assert.NotSame(scripts[0], cache.Classify(texts[0], true));
        Assert.Equal(3, cache.Count);
        Assert.NotSame(scripts[1], Keep(cache, texts[1], true)); // evicted, then kept again when seen twice more
    }

    [Fact]
    public void Long_texts_are_classified_but_not_kept()
    {
        var cache = new PgClassificationCache(maxSqlLength: 16);
        byte[] sql = "SELECT a, b, c FROM t"u8.ToArray();
        Assert.Equal(StatementKind.Select, Keep(cache, sql, true).Statements[0].Kind);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_hit_allocates_nothing()
    {
        var cache = new PgClassificationCache();
        byte[] copy = Oltp.ToArray();
        cache.Classify(Oltp, true);
        for (int i = 0; i < 100; i++)
        {
            cache.Classify(copy, true);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        PgSqlScript? last = null;
        for (int i = 0; i < 10_000; i++)
        {
            last = cache.Classify(copy, true);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.NotNull(last);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task Concurrent_sessions_share_entries_safely()
    {
        var cache = new PgClassificationCache(capacity: 64);
        byte[][] texts = [.. Enumerable.Range(0, 200).Select(i => Encoding.UTF8.GetBytes($"DELETE FROM t{i % 100} WHERE id = {i % 7}"))];
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            for (int round = 0; round < 2_000; round++)
            {
                byte[] text = texts[(round * 31 + worker) % texts.Length];
                PgStatement statement = cache.Classify(text, (round & 1) == 0).Statements[0];
                Assert.Equal(StatementKind.Delete, statement.Kind);
                Assert.Equal(Encoding.UTF8.GetString(text).Split(' ')[2], statement.Relations[0]);
            }
        })));

        Assert.InRange(cache.Count, 1, 64);
    }
}
