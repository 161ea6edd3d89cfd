using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>Npgsql through Wire behaves as against the server directly.</summary>
[Collection(PostgresCollection.Name)]
public sealed class NpgsqlThroughWireTests(PostgresFixture fixture)
{
    private const string TypesQuery = """
        SELECT g AS n,
               (g * 7)::int2 AS i2, (g * 100000)::int4 AS i4, (g::int8 * 3000000000) AS i8,
               (g * 12345.678901)::numeric(20, 6) AS num, 'héllo wörld ✓ ' || g AS txt,
               decode(repeat(lpad(to_hex(g), 2, '0'), 3), 'hex') AS bin, g % 2 = 0 AS flag,
               g / 3.0::float8 AS f8, 'NaN'::float8 AS nan, '-Infinity'::float8 AS ninf,
               timestamptz '2024-02-29 12:34:56.789+02' + g * interval '1 day 1.5 seconds' AS ts,
               ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a' || lpad(g::text, 2, '0'))::uuid AS id,
               jsonb_build_object('g', g, 'arr', jsonb_build_array(1, 'two', null), 'nested', jsonb_build_object('x', g / 2.0)) AS doc,
               ARRAY[g, g + 1, g * 10]::int4[] AS ints, ARRAY['x', NULL, 'z' || g]::text[] AS texts,
               CASE WHEN g = 3 THEN NULL ELSE g END AS maybe,
               ''::text AS empty, '\x'::bytea AS empty_bin
        FROM generate_series(1, 40) g
        ORDER BY g
        """;

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Typed_results_equal_direct(bool textResults)
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var direct = fixture.OpenDirect(PostgresFixture.ScramUser, fixture.ScramPassword, sslMode: SslMode.Disable);
        await using var through = await wire.OpenClientAsync();

        var expected = await ReadAllAsync(direct, TypesQuery, textResults);
        var actual = await ReadAllAsync(through, TypesQuery, textResults);

        Assert.Equal(40, expected.Count);
        Assert.Equal(expected, actual);
        Assert.Contains("héllo wörld ✓ 1", expected[0], StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Prepared_statement_runs_fifty_times()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var connection = await wire.OpenClientAsync();
        await using var command = new NpgsqlCommand("SELECT $1::int4 * 2, repeat('ab', $1::int4), $2::text || '!'", connection);
        var n = new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer };
        var s = new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text };
        command.Parameters.Add(n);
        command.Parameters.Add(s);
        await command.PrepareAsync();
        Assert.True(command.IsPrepared);

        for (var i = 0; i < 50; i++)
        {
            n.TypedValue = i;
            s.TypedValue = "run " + i;
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(i * 2, reader.GetInt32(0));
            Assert.Equal(string.Concat(Enumerable.Repeat("ab", i)), reader.GetString(1));
            Assert.Equal($"run {i}!", reader.GetString(2));
            Assert.False(await reader.ReadAsync());
        }

        // Still prepared on the server: the statement shows up in pg_prepared_statements.
        await using var check = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%repeat(''ab''%'", connection);
        Assert.Equal(1L, (long)(await check.ExecuteScalarAsync())!);
    }

    [Fact(Timeout = 60_000)]
    public async Task Pipelined_batch_returns_every_result()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var connection = await wire.OpenClientAsync();

        await using (var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("CREATE TEMP TABLE b (id int, v text)"),
                new NpgsqlBatchCommand("INSERT INTO b SELECT g, 'v' || g FROM generate_series(1, 100) g"),
                new NpgsqlBatchCommand("UPDATE b SET v = upper(v) WHERE id <= 10"),
                new NpgsqlBatchCommand("SELECT count(*) FROM b"),
                new NpgsqlBatchCommand("SELECT v FROM b WHERE id IN ($1, $2) ORDER BY id") { Parameters = { new() { Value = 5 }, new() { Value = 50 } } },
                new NpgsqlBatchCommand("DELETE FROM b WHERE id > 90"),
            },
        })
        {
            await using var reader = await batch.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(100L, reader.GetInt64(0));
            Assert.True(await reader.NextResultAsync());
            Assert.True(await reader.ReadAsync());
            Assert.Equal("V5", reader.GetString(0));
            Assert.True(await reader.ReadAsync());
            Assert.Equal("v50", reader.GetString(0));
            Assert.False(await reader.ReadAsync());
            Assert.False(await reader.NextResultAsync());
            await reader.CloseAsync();

            Assert.Equal(100, batch.BatchCommands[1].RecordsAffected);
            Assert.Equal(10, batch.BatchCommands[2].RecordsAffected);
            Assert.Equal(10, batch.BatchCommands[5].RecordsAffected);
        }

        // An error in the middle of a batch fails the batch; the session goes on.
        await using (var failing = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("INSERT INTO b VALUES (1000, 'x')"),
                new NpgsqlBatchCommand("SELECT 1 / 0"),
                new NpgsqlBatchCommand("INSERT INTO b VALUES (1001, 'y')"),
            },
        })
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => failing.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.DivisionByZero, error.SqlState);
        }

        await using var count = new NpgsqlCommand("SELECT count(*) FROM b WHERE id >= 1000", connection);
        Assert.Equal(0L, (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact(Timeout = 120_000)]
    public async Task Binary_copy_round_trips_ten_thousand_rows()
    {
        var table = "wire_bcopy_" + Guid.NewGuid().ToString("N")[..8];
        await using var wire = WireProxyHarness.Start(fixture);
        await using var connection = await wire.OpenClientAsync();
        await using var direct = fixture.OpenDirect(PostgresFixture.ScramUser, fixture.ScramPassword, sslMode: SslMode.Disable);
        await ExecuteAsync(connection, $"CREATE TABLE {table} (id int, name text, payload bytea, amount numeric(12,3), at timestamptz, tags text[])");
        try
        {
            var rows = Enumerable.Range(1, 10_000).Select(MakeRow).ToList();
            await using (var importer = await connection.BeginBinaryImportAsync($"COPY {table} (id, name, payload, amount, at, tags) FROM STDIN (FORMAT BINARY)"))
            {
                foreach (var row in rows)
                {
                    await importer.StartRowAsync();
                    await importer.WriteAsync(row.Id, NpgsqlDbType.Integer);
                    await importer.WriteAsync(row.Name, NpgsqlDbType.Text);
                    await importer.WriteAsync(row.Payload, NpgsqlDbType.Bytea);
                    await importer.WriteAsync(row.Amount, NpgsqlDbType.Numeric);
                    await importer.WriteAsync(row.At, NpgsqlDbType.TimestampTz);
                    await importer.WriteAsync(row.Tags, NpgsqlDbType.Array | NpgsqlDbType.Text);
                }

                Assert.Equal(10_000UL, await importer.CompleteAsync());
            }

            var throughWire = await ExportAsync(connection, table);
            var straight = await ExportAsync(direct, table);

            Assert.Equal(rows.Select(Describe), throughWire.Select(Describe));
            Assert.Equal(straight.Select(Describe), throughWire.Select(Describe));
        }
        finally
        {
            await ExecuteAsync(direct, $"DROP TABLE IF EXISTS {table}");
        }

        static CopyRow MakeRow(int i) => new(
            i,
            "name\t" + i + (i % 7 == 0 ? " ünïcode" : ""),
            Encoding.UTF8.GetBytes("payload-" + i + new string('z', i % 50)),
            i * 1.125m,
            new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i * 37),
            i % 5 == 0 ? [] : ["a" + i, "b", i % 3 == 0 ? "with,comma" : "c"]);

        static async Task<List<CopyRow>> ExportAsync(NpgsqlConnection connection, string table)
        {
            var result = new List<CopyRow>();
            await using var exporter = await connection.BeginBinaryExportAsync($"COPY (SELECT id, name, payload, amount, at, tags FROM {table} ORDER BY id) TO STDOUT (FORMAT BINARY)");
            while (await exporter.StartRowAsync() != -1)
            {
                result.Add(new CopyRow(
                    await exporter.ReadAsync<int>(NpgsqlDbType.Integer),
                    await exporter.ReadAsync<string>(NpgsqlDbType.Text),
                    await exporter.ReadAsync<byte[]>(NpgsqlDbType.Bytea),
                    await exporter.ReadAsync<decimal>(NpgsqlDbType.Numeric),
                    await exporter.ReadAsync<DateTime>(NpgsqlDbType.TimestampTz),
                    await exporter.ReadAsync<string[]>(NpgsqlDbType.Array | NpgsqlDbType.Text)));
            }

            return result;
        }

        static string Describe(CopyRow r) => string.Join(
            "|",
            r.Id.ToString(CultureInfo.InvariantCulture),
            r.Name,
            Convert.ToHexString(r.Payload),
            r.Amount.ToString("0.000", CultureInfo.InvariantCulture),
            r.At.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
            string.Join(",", r.Tags));
    }

    [Fact(Timeout = 120_000)]
    public async Task Text_copy_round_trips()
    {
        var table = "wire_tcopy_" + Guid.NewGuid().ToString("N")[..8];
        await using var wire = WireProxyHarness.Start(fixture);
        await using var connection = await wire.OpenClientAsync();
        await using var direct = fixture.OpenDirect(PostgresFixture.ScramUser, fixture.ScramPassword, sslMode: SslMode.Disable);
        await ExecuteAsync(connection, $"CREATE TABLE {table} (id int, name text, note text)");
        try
        {
            var input = new StringBuilder();
            for (var i = 1; i <= 10_000; i++)
            {
                input.Append(CultureInfo.InvariantCulture, $"{i}\tname {i}\t{(i % 10 == 0 ? "\\N" : "tab\\there, newline\\nthere " + i)}\n");
            }

            await using (var writer = await connection.BeginTextImportAsync($"COPY {table} FROM STDIN"))
            {
                await writer.WriteAsync(input.ToString());
            }

            var exportSql = $"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT";
            string throughWire;
            using (var reader = await connection.BeginTextExportAsync(exportSql))
            {
                throughWire = await reader.ReadToEndAsync();
            }

            string straight;
            using (var reader = await direct.BeginTextExportAsync(exportSql))
            {
                straight = await reader.ReadToEndAsync();
            }

            Assert.Equal(input.ToString(), throughWire);
            Assert.Equal(straight, throughWire);

            // CSV through Wire too.
            using var csv = await connection.BeginTextExportAsync($"COPY (SELECT * FROM {table} WHERE id <= 3 ORDER BY id) TO STDOUT (FORMAT CSV, HEADER)");
            Assert.Equal(
                "id,name,note\n1,name 1,\"tab\there, newline\nthere 1\"\n2,name 2,\"tab\there, newline\nthere 2\"\n3,name 3,\"tab\there, newline\nthere 3\"\n",
                await csv.ReadToEndAsync());
        }
        finally
        {
            await ExecuteAsync(direct, $"DROP TABLE IF EXISTS {table}");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Listen_notify_between_two_wire_connections()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var listener = await wire.OpenClientAsync();
        await using var notifier = await wire.OpenClientAsync();
        var received = new List<(string Channel, string Payload)>();
        listener.Notification += (_, e) => received.Add((e.Channel, e.Payload));

        await ExecuteAsync(listener, "LISTEN wire_events");
        await ExecuteAsync(notifier, "NOTIFY wire_events, 'payload through wire ✓'");

        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(10)), "no notification within 10 s");
        Assert.Equal(new[] { ("wire_events", "payload through wire ✓") }, received);

        // A notification sent in a transaction arrives at commit, with the listener idle in between.
        await using (var tx = await notifier.BeginTransactionAsync())
        {
            await ExecuteAsync(notifier, "SELECT pg_notify('wire_events', 'second')");
            await tx.CommitAsync();
        }

        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(10)), "no second notification within 10 s");
        Assert.Equal(("wire_events", "second"), received[^1]);
    }

    [Fact(Timeout = 180_000)]
    public async Task Million_row_select_streams_through()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var connection = await wire.OpenClientAsync(b => b.CommandTimeout = 150);
        await using var command = new NpgsqlCommand("SELECT g, 'row ' || g FROM generate_series(1, 1000000) g", connection);

        long count = 0;
        long sum = 0;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                count++;
                sum += reader.GetInt32(0);
            }
        }

        Assert.Equal(1_000_000L, count);
        Assert.Equal(500_000_500_000L, sum);
        await using var after = new NpgsqlCommand("SELECT 42", connection);
        Assert.Equal(42, (int)(await after.ExecuteScalarAsync())!);
    }

    [Fact(Timeout = 120_000)]
    public async Task Five_mebibyte_bytea_round_trips()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var connection = await wire.OpenClientAsync();
        var value = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);

        await using var command = new NpgsqlCommand("SELECT $1::bytea, length($1::bytea), md5($1::bytea)", connection)
        {
            Parameters = { new NpgsqlParameter<byte[]> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Bytea } },
        };
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var echoed = reader.GetFieldValue<byte[]>(0);
        Assert.Equal(value.Length, reader.GetInt32(1));
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(value)), reader.GetString(2));
        Assert.True(value.AsSpan().SequenceEqual(echoed), "the 5 MiB value came back different");
        Assert.False(await reader.ReadAsync());
        await reader.CloseAsync();

        // And as text (hex), a 10 MiB DataRow.
        await using var asText = new NpgsqlCommand("SELECT encode($1::bytea, 'hex')", connection)
        {
            Parameters = { new NpgsqlParameter<byte[]> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Bytea } },
        };
        Assert.Equal(Convert.ToHexStringLower(value), (string)(await asText.ExecuteScalarAsync())!);
    }

    [Fact(Timeout = 60_000)]
    public async Task Cancel_ends_a_sleeping_query_and_the_session_goes_on()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var connection = await wire.OpenClientAsync();
        await using var command = new NpgsqlCommand("SELECT pg_sleep(60)", connection);

        var stopwatch = Stopwatch.StartNew();
        var canceller = Task.Run(async () =>
        {
            await Task.Delay(500);
            command.Cancel();
        });
        // Npgsql reports a cancelled command as OperationCanceledException wrapping the server's 57014.
        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => command.ExecuteNonQueryAsync());
        await canceller;

        var error = thrown as PostgresException ?? thrown.InnerException as PostgresException;
        Assert.True(error is not null, $"expected the server's error, got {thrown}");
        Assert.Equal(PostgresErrorCodes.QueryCanceled, error.SqlState);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"cancel took {stopwatch.Elapsed}");

        await using var after = new NpgsqlCommand("SELECT 'alive'", connection);
        Assert.Equal("alive", (string)(await after.ExecuteScalarAsync())!);
    }

    [Fact(Timeout = 60_000)]
    public async Task Cancel_key_handed_to_the_client_is_wires_own()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var connection = await wire.OpenClientAsync();

        await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        var upstreamPid = (int)(await command.ExecuteScalarAsync())!;
        Assert.NotEqual(upstreamPid, connection.ProcessID);
    }

    private static async Task<List<string>> ReadAllAsync(NpgsqlConnection connection, string sql, bool textResults)
    {
        await using var command = new NpgsqlCommand(sql, connection) { AllResultTypesAreUnknown = textResults };
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            var fields = new List<string>();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                fields.Add($"{reader.GetName(i)}:{reader.GetDataTypeName(i)}={Canonical(reader.GetValue(i))}");
            }

            rows.Add(string.Join(" ", fields));
        }

        return rows;
    }

    private static string Canonical(object? value) => value switch
    {
        null or DBNull => "<null>",
        byte[] bytes => "\\x" + Convert.ToHexString(bytes),
        string text => "'" + text + "'",
        DateTime time => time.ToString("O", CultureInfo.InvariantCulture) + "/" + time.Kind,
        Array array => "{" + string.Join(",", array.Cast<object?>().Select(Canonical)) + "}",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture) + "/" + value.GetType().Name,
        _ => value.ToString() + "/" + value.GetType().Name,
    };

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private sealed record CopyRow(int Id, string Name, byte[] Payload, decimal Amount, DateTime At, string[] Tags);
}
