using Npgsql;
using Wire.Enforcement.Policy;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Enforcement;

/// <summary>Masking in place (DESIGN.md §3) against the real server: aliases, expressions, views, partitions, binary results, errors.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MaskingTests(PostgresFixture fixture)
{
    private static readonly string[] Psql = ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=0"];

    private const string Email = "alice@example.com";
    private const string Ssn = "123-45-6789";

    private static async Task<(EnforcementHarness H, string Customers)> StartAsync(PostgresFixture fixture)
    {
        string customers = "cust_" + Guid.NewGuid().ToString("n")[..10];
        var rules = RuleSet.Create(
        [
            new RuleDefinition { Name = "no-drop", Action = PolicyAction.Deny, Statements = [StatementKind.Drop] },
            new RuleDefinition
            {
                Name = "pii", Action = PolicyAction.Mask, Columns = [$"public.{customers}.email", "*.*.ssn"],
                Detectors = ["email", "ssn", "card"], Style = "full",
            },
        ]);
        var h = EnforcementHarness.Start(fixture, rules);
        await h.DirectScalarAsync($"""
            CREATE TABLE public.{customers} (id int PRIMARY KEY, name text, email text UNIQUE, ssn text, note text);
            INSERT INTO public.{customers} VALUES (1, 'Alice', '{Email}', '{Ssn}', 'call me'), (2, 'Bob', 'bob@example.org', '234-56-7890', null);
            CREATE VIEW public.{customers}_v AS SELECT id, name, email FROM public.{customers};
            GRANT ALL ON public.{customers}, public.{customers}_v TO {PostgresFixture.ScramUser};
            """);
        return (h, customers);
    }

    private static string Stars(string value) => new('*', value.Length);

    [Fact]
    public async Task Column_rules_survive_aliases_and_star()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        var result = await h.Wire.RunPsqlAsync(Psql, $"""
            SELECT id, name, email, ssn AS x FROM {c} ORDER BY id;
            SELECT * FROM {c} WHERE id = 1;
            """);
        Assert.DoesNotContain(Email, result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(Ssn, result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"1|Alice|{Stars(Email)}|{Stars(Ssn)}", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"1|Alice|{Stars(Email)}|{Stars(Ssn)}|call me", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_repeated_result_shape_is_planned_again_when_the_session_changes_the_catalog()
    {
        // The same RowDescription bytes before and after the renames (alias v, same table and attribute number), and both
        // statements name a masked column: only the catalog says that attribute 2 is now the masked column.
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        await h.DirectScalarAsync($"ALTER TABLE public.{c} OWNER TO {PostgresFixture.ScramUser}");
        var result = await h.Wire.RunPsqlAsync(Psql, $"""
            SELECT name AS v FROM {c} WHERE id = 1 AND ssn IS NOT NULL;
            SELECT name AS v FROM {c} WHERE id = 1 AND ssn IS NOT NULL;
            ALTER TABLE {c} RENAME COLUMN name TO tmp_col;
            ALTER TABLE {c} RENAME COLUMN ssn TO name;
            ALTER TABLE {c} RENAME COLUMN tmp_col TO ssn;
            SELECT ssn AS v FROM {c} WHERE id = 1 AND name IS NOT NULL;
            """);
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("ALTER", StringComparison.Ordinal)).ToList();
        Assert.Equal(["Alice", "Alice", Stars("Alice")], lines);
    }

    [Fact]
    public async Task A_prepared_statement_is_judged_again_when_another_session_redefines_the_view_it_reads()
    {
        // Whether a statement computes with masked data is remembered per session; another session's DDL through Wire
        // changes the shared catalog, and the next execution must see it: first the view reads a clean column, then a
        // masked one, under the same prepared statement.
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        await h.DirectScalarAsync($"""
            CREATE VIEW public.{c}_w AS SELECT id, name AS val FROM public.{c};
            ALTER VIEW public.{c}_w OWNER TO {PostgresFixture.ScramUser};
            """);
        await using var reader = await h.Wire.OpenClientAsync();
        await using var select = new NpgsqlCommand($"SELECT md5(val) FROM {c}_w WHERE id = 1", reader);
        await select.PrepareAsync();
        string clean = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("Alice"u8));
        Assert.Equal(clean, await select.ExecuteScalarAsync());
        Assert.Equal(clean, await select.ExecuteScalarAsync());

        await using (var writer = await h.Wire.OpenClientAsync())
        {
            await using var ddl = new NpgsqlCommand($"CREATE OR REPLACE VIEW {c}_w AS SELECT id, ssn AS val FROM {c}", writer);
            await ddl.ExecuteNonQueryAsync();
        }

        Assert.Equal(new string('*', 32), await select.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Expressions_over_masked_columns_are_masked_whole()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        var result = await h.Wire.RunPsqlAsync(Psql, $"""
            SELECT md5(ssn), upper(email), ssn || '', reverse(email) FROM {c} WHERE id = 1;
            SELECT row_to_json(x) FROM {c} x WHERE id = 1;
            SELECT string_agg(email, ',') FROM {c};
            WITH s AS (SELECT ssn FROM {c}) SELECT substr(ssn, 1, 3) FROM s LIMIT 1;
            SELECT (SELECT email FROM {c} WHERE id = 1) AS sub;
            SELECT count(*) FROM {c};
            """);
        string output = result.StandardOutput;
        Assert.DoesNotContain("alice", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("123", output, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("123-45-6789"u8)), output, StringComparison.Ordinal);
        Assert.DoesNotContain("moc.elpmaxe", output, StringComparison.Ordinal);
        Assert.Contains("*", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Whole_row_references_and_renamed_view_columns_are_masked_but_counts_are_not()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        await h.DirectScalarAsync($"CREATE VIEW public.{c}_r AS SELECT id, email AS contact FROM public.{c}; GRANT ALL ON public.{c}_r TO {PostgresFixture.ScramUser}");
        var result = await h.Wire.RunPsqlAsync(Psql, $"""
            SELECT md5(x::text) FROM {c} x WHERE id = 1;
            SELECT {c}::text FROM {c} WHERE id = 1;
            SELECT md5(contact) FROM {c}_r WHERE id = 1;
            SELECT count(*), max(id) FROM {c};
            SELECT count(*) FROM {c} x WHERE x.id > 0;
            """);
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(new string('*', 32), lines[0]);
        Assert.DoesNotContain("alice", lines[1], StringComparison.OrdinalIgnoreCase);
        Assert.Equal(new string('*', 32), lines[2]);
        Assert.Equal("2|2", lines[3]);
        Assert.Equal("2", lines[4]);
    }

    [Fact]
    public async Task Partitions_binary_cursors_and_functions_over_masked_columns_are_masked()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        await h.DirectScalarAsync($"""
            CREATE TABLE public.{c}_part (id int, ssn text) PARTITION BY RANGE (id);
            CREATE TABLE public.{c}_part_1 PARTITION OF public.{c}_part FOR VALUES FROM (0) TO (100);
            INSERT INTO public.{c}_part VALUES (1, '{Ssn}');
            CREATE FUNCTION public.{c}_contacts() RETURNS TABLE (who text) LANGUAGE sql AS 'SELECT email FROM public.{c}';
            GRANT ALL ON public.{c}_part, public.{c}_part_1 TO {PostgresFixture.ScramUser};
            """);
        // The rule names public.<customers>.email and *.*.ssn: the partition's ssn is covered through its parent as well.
        var result = await h.Wire.RunPsqlAsync(Psql, $"""
            SELECT ssn FROM {c}_part_1;
            SELECT who FROM {c}_contacts();
            SELECT upper(who) FROM {c}_contacts();
            """);
        Assert.DoesNotContain(Ssn, result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("ALICE", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(Email, result.StandardOutput, StringComparison.Ordinal);

        // A BINARY cursor: rows in binary format, masked type-aware (text types as text).
        await using var connection = await h.Wire.OpenClientAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var declare = new NpgsqlCommand($"DECLARE bc BINARY CURSOR FOR SELECT email, id FROM {c} ORDER BY id", connection, transaction))
        {
            await declare.ExecuteNonQueryAsync();
        }
        await using var fetch = new NpgsqlCommand("FETCH 1 FROM bc", connection, transaction);
        await using var reader = await fetch.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(Stars(Email), reader.GetString(0));
        Assert.Equal(1, reader.GetInt32(1));
    }

    [Fact]
    public async Task With_expressions_refuse_computing_with_masked_columns_is_denied()
    {
        string c = "cust_" + Guid.NewGuid().ToString("n")[..10];
        await using var h = EnforcementHarness.Start(fixture, RuleSet.Create(
        [
            new RuleDefinition { Name = "pii", Action = PolicyAction.Mask, Columns = [$"public.{c}.email", $"public.{c}.ssn"], Expressions = ExpressionHandling.Refuse },
        ]));
        await h.DirectScalarAsync($"""
            CREATE TABLE public.{c} (id int PRIMARY KEY, name text, email text, ssn text);
            INSERT INTO public.{c} VALUES (1, 'Alice', '{Email}', '{Ssn}');
            GRANT ALL ON public.{c} TO {PostgresFixture.ScramUser};
            """);
        var result = await h.Wire.RunPsqlAsync(Psql, $"""
            SELECT id, email, ssn AS x FROM {c};
            SELECT x.email, name FROM {c} x;
            SELECT count(*) FROM {c};
            SELECT md5(ssn) FROM {c};
            SELECT count(*) FROM {c} WHERE ssn LIKE '1%';
            SELECT row_to_json(x) FROM {c} x;
            SELECT upper(name) || email FROM {c};
            """);
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"1|{Stars(Email)}|{Stars(Ssn)}", $"{Stars(Email)}|Alice", "1"], lines);
        Assert.Equal(4, result.StandardError.Split("computes with masked columns").Length - 1);
    }

    [Fact]
    public async Task Detector_scope_all_scans_table_columns_and_fast_path_results()
    {
        string t = "notes_" + Guid.NewGuid().ToString("n")[..10];
        await using var h = EnforcementHarness.Start(fixture, RuleSet.Create(
        [
            new RuleDefinition { Name = "content", Action = PolicyAction.Mask, Detectors = ["email"], DetectorScope = DetectorScope.All },
        ]));
        await h.DirectScalarAsync($"""
            CREATE TABLE public.{t} (id int, note text);
            INSERT INTO public.{t} VALUES (1, 'write to bob@example.com please');
            GRANT ALL ON public.{t} TO {PostgresFixture.ScramUser};
            """);
        var result = await h.Wire.RunPsqlAsync(Psql, $"SELECT note FROM {t};\n");
        Assert.Equal($"write to {Stars("bob@example.com")} please", result.StandardOutput.Trim());

        // A fast-path FunctionCall (protocol 'F') returning an email: its result goes through the detectors too.
        uint lower = Convert.ToUInt32(await h.DirectScalarAsync("SELECT 'pg_catalog.btrim(text)'::regprocedure::oid"), System.Globalization.CultureInfo.InvariantCulture);
        await using var client = await Proxy.RawPgClient.ConnectAsync(h.Wire.Port);
        await client.LoginAsync();
        byte[] argument = System.Text.Encoding.UTF8.GetBytes("  carol@example.net  ");
        var body = new byte[4 + 2 + 2 + 4 + argument.Length + 2];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(body, lower);
        System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(4), 0); // argument formats: all text
        System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(6), 1); // one argument
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(8), argument.Length);
        argument.CopyTo(body.AsSpan(12));
        System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(12 + argument.Length), 0); // result format: text
        await client.SendAsync(Proxy.RawPgClient.Message('F', body));
        var messages = await client.ReadUntilAsync('Z');
        var response = Assert.Single(messages, m => m.Tag == 'V');
        string value = System.Text.Encoding.UTF8.GetString(response.Body.AsSpan(4));
        Assert.Equal(Stars("carol@example.net"), value);
    }

    [Fact]
    public async Task Detectors_mask_expression_values_of_unrelated_statements()
    {
        var (h, _) = await StartAsync(fixture);
        await using var __ = h;
        var result = await h.Wire.RunPsqlAsync(Psql, """
            SELECT 'mail bob@example.com now', 'card 4111 1111 1111 1111', 'plain text', 42;
            """);
        Assert.Contains($"mail {Stars("bob@example.com")} now|card {Stars("4111 1111 1111 1111")}|plain text|42", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Views_and_returning_and_cursors_are_masked()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        var result = await h.Wire.RunPsqlAsync(Psql, $"""
            SELECT email FROM {c}_v WHERE id = 1;
            UPDATE {c} SET name = name WHERE id = 1 RETURNING email, ssn;
            BEGIN;
            DECLARE cur CURSOR FOR SELECT email FROM {c} ORDER BY id;
            FETCH 1 FROM cur;
            COMMIT;
            """);
        Assert.DoesNotContain(Email, result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(Ssn, result.StandardOutput, StringComparison.Ordinal);
        Assert.True(result.StandardOutput.Split('\n').Count(l => l.Trim() == Stars(Email)) >= 2, result.StandardOutput);
    }

    [Fact]
    public async Task Npgsql_binary_results_and_prepared_statements_are_masked()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        await using var connection = await h.Wire.OpenClientAsync();
        await using var command = new NpgsqlCommand($"SELECT email, ssn, id, name FROM {c} WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", 1);
        await command.PrepareAsync();
        for (int i = 0; i < 3; i++)
        {
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(Stars(Email), reader.GetString(0));
            Assert.Equal(Stars(Ssn), reader.GetString(1));
            Assert.Equal(1, reader.GetInt32(2));
            Assert.Equal("Alice", reader.GetString(3));
        }

        await using var unprepared = new NpgsqlCommand($"SELECT md5(email) FROM {c} WHERE id = 1", connection);
        Assert.Equal(new string('*', 32), await unprepared.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Errors_and_notices_do_not_echo_masked_values()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        var result = await h.Wire.RunPsqlAsync([.. Psql, "-v", "VERBOSITY=verbose"], $"""
            INSERT INTO {c} VALUES (3, 'Eve', '{Email}', null, null);
            SELECT '{Ssn}'::int;
            DO $$ BEGIN RAISE NOTICE 'contact %', 'carol@example.net'; END $$;
            """);
        // psql echoes the client's own query text ("LINE 1: ...") from its input: that is not the server's doing.
        string all = string.Join('\n', (result.StandardOutput + result.StandardError).Split('\n')
            .Where(l => !l.StartsWith("LINE ", StringComparison.Ordinal) && !l.TrimStart().StartsWith('^')));
        Assert.Contains("23505", all, StringComparison.Ordinal);
        Assert.Contains("invalid input syntax for type integer", all, StringComparison.Ordinal);
        Assert.DoesNotContain(Email, all, StringComparison.Ordinal);
        Assert.DoesNotContain(Ssn, all, StringComparison.Ordinal);
        Assert.DoesNotContain("carol@example.net", all, StringComparison.Ordinal);
        Assert.Contains("contact *****************", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copying_masked_data_elsewhere_is_denied()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        var result = await h.Wire.RunPsqlAsync(Psql, $"""
            CREATE TABLE {c}_copy AS SELECT ssn FROM {c};
            SELECT ssn INTO {c}_copy2 FROM {c};
            COPY (SELECT email FROM {c}) TO '/tmp/wire-should-not-exist.txt';
            SELECT 'still here';
            """);
        Assert.Equal(3, result.StandardError.Split("masked for you").Length - 1);
        Assert.Contains("still here", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(Email, result.StandardOutput, StringComparison.Ordinal);
        Assert.False(await h.ExistsAsync(c + "_copy"));
    }

    [Fact]
    public async Task Copy_to_stdout_rows_are_masked_in_every_format()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        var result = await h.Wire.RunPsqlAsync(["-X", "-q", "-v", "ON_ERROR_STOP=0"], $"""
            COPY {c} TO STDOUT;
            COPY {c} (id, email) TO STDOUT WITH (FORMAT csv, HEADER);
            COPY (SELECT upper(email), 'x@y.org' FROM {c} ORDER BY id) TO STDOUT (FORMAT csv);
            """);
        string output = result.StandardOutput;
        Assert.DoesNotContain(Email, output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Ssn, output, StringComparison.Ordinal);
        Assert.Contains($"1\tAlice\t{Stars(Email)}\t{Stars(Ssn)}\tcall me", output, StringComparison.Ordinal);
        Assert.Contains("2\tBob\t" + Stars("bob@example.org") + "\t" + Stars("234-56-7890") + "\t\\N", output, StringComparison.Ordinal);
        Assert.Contains($"id,email\n1,{Stars(Email)}\n", output, StringComparison.Ordinal);
        Assert.Contains($"{Stars(Email)},*******", output, StringComparison.Ordinal);

        await using var connection = await h.Wire.OpenClientAsync();
        await using var export = await connection.BeginBinaryExportAsync($"COPY {c} (id, email, ssn, name) TO STDOUT (FORMAT binary)");
        Assert.Equal(4, await export.StartRowAsync());
        Assert.Equal(1, await export.ReadAsync<int>());
        Assert.Equal(Stars(Email), await export.ReadAsync<string>());
        Assert.Equal(Stars(Ssn), await export.ReadAsync<string>());
        Assert.Equal("Alice", await export.ReadAsync<string>());
    }

    [Fact]
    public async Task A_portal_executed_without_describe_gets_wires_own_describe()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        await using var client = await Proxy.RawPgClient.ConnectAsync(h.Wire.Port);
        await client.LoginAsync();

        // Parse, Bind, Execute, Sync: the client never asks for the shape, Wire does (and keeps the answer to itself).
        byte[] parse = [.. Proxy.RawPgClient.CString(""), .. Proxy.RawPgClient.CString($"SELECT email, id, name FROM {c} ORDER BY id"), 0, 0];
        byte[] bind = [.. Proxy.RawPgClient.CString(""), .. Proxy.RawPgClient.CString(""), 0, 0, 0, 0, 0, 0];
        byte[] execute = [.. Proxy.RawPgClient.CString(""), 0, 0, 0, 0];
        byte[] batch = [.. Proxy.RawPgClient.Message('P', parse), .. Proxy.RawPgClient.Message('B', bind),
            .. Proxy.RawPgClient.Message('E', execute), .. Proxy.RawPgClient.Message('S', [])];
        await client.SendAsync(batch);
        var messages = await client.ReadUntilAsync('Z');

        Assert.Equal("12DDCZ", string.Concat(messages.Select(m => m.Tag)));
        var first = messages[2].Body;
        string row = System.Text.Encoding.UTF8.GetString(first);
        Assert.DoesNotContain(Email, row, StringComparison.Ordinal);
        Assert.Contains(Stars(Email), row, StringComparison.Ordinal);
        Assert.Contains("Alice", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_table_created_in_the_open_transaction_is_masked_whole()
    {
        var (h, c) = await StartAsync(fixture);
        await using var _ = h;
        var result = await h.Wire.RunPsqlAsync(Psql, $"""
            BEGIN;
            CREATE TABLE {c}_new (v text);
            INSERT INTO {c}_new VALUES ('visible?');
            SELECT v FROM {c}_new;
            ROLLBACK;
            """);
        Assert.DoesNotContain("visible?", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(Stars("visible?"), result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Notifications_and_set_config_carry_no_masked_value()
    {
        var (h, _) = await StartAsync(fixture);
        await using var __ = h;
        await using var connection = await h.Wire.OpenClientAsync();
        string? payload = null;
        connection.Notification += (_, e) => payload = e.Payload;
        await using (var listen = new NpgsqlCommand("LISTEN wire_mask", connection))
        {
            await listen.ExecuteNonQueryAsync();
        }
        await using (var notify = new NpgsqlCommand($"SELECT pg_notify('wire_mask', 'to {Email}')", connection))
        {
            await notify.ExecuteNonQueryAsync();
        }
        await connection.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal($"to {Stars(Email)}", payload);

        await using var setConfig = new NpgsqlCommand($"SELECT set_config('application_name', '{Email}', false)", connection);
        Assert.Equal(Stars(Email), await setConfig.ExecuteScalarAsync());
    }
}
