using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Wire.Enforcement.Masking;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Hosting;

/// <summary>
/// A host's own detector and mask style (<c>AddDetector&lt;T&gt;()</c>, <c>AddMasker&lt;T&gt;()</c>) named by configured mask
/// rules, in front of the real server: Npgsql reads the values masked in detector-scanned and named columns, a rule that
/// names a detector or style no host added stops the start naming the key, and a broken masker gives the full style.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class CustomMaskingTests(PostgresFixture pg)
{
    private Dictionary<string, string?> Settings(int port, string table, string style)
    {
        var settings = EmbeddingHost.Settings(pg, port);
        // The host's detector on every text value (a table column no rule names, and expressions).
        settings["Wire:rules:0:name"] = "employee-ids";
        settings["Wire:rules:0:action"] = "mask";
        settings["Wire:rules:0:detectors:0"] = "employee-id";
        settings["Wire:rules:0:detectorScope"] = "all";
        settings["Wire:rules:0:style"] = style;
        // The host's style on named columns: a text one, and an integer one (binary: what full gives, zeros).
        settings["Wire:rules:1:name"] = "badges";
        settings["Wire:rules:1:action"] = "mask";
        settings["Wire:rules:1:columns:0"] = $"public.{table}.badge";
        settings["Wire:rules:1:columns:1"] = $"public.{table}.salary";
        settings["Wire:rules:1:style"] = style;
        return settings;
    }

    private static IHost BuildHost(Dictionary<string, string?> settings, Action<IWireBuilder> extend) => EmbeddingHost.Build(settings, extend);

    private static string ConnectionString(int port) => EmbeddingHost.ConnectionString(port);

    private string CreateTable()
    {
        string table = "cm_staff_" + Guid.NewGuid().ToString("N")[..8];
        using var direct = pg.OpenDirect(PostgresFixture.ScramUser, pg.ScramPassword);
        using var create = new NpgsqlCommand(
            $"""
            CREATE TABLE {table} (id int PRIMARY KEY, badge text, notes text, salary int);
            INSERT INTO {table} VALUES (1, 'B-7781-X', 'met EMP-123456 today; EMP-12 is no id', 50000),
                                       (2, 'EMP-000042', 'nothing here', 61000);
            """, direct);
        create.ExecuteNonQuery();
        return table;
    }

    private void DropTable(string table)
    {
        using var direct = pg.OpenDirect(PostgresFixture.ScramUser, pg.ScramPassword);
        using var drop = new NpgsqlCommand($"DROP TABLE IF EXISTS {table}", direct);
        drop.ExecuteNonQuery();
    }

    private static async Task<List<(string Badge, string Notes, int Salary)>> ReadStaffAsync(NpgsqlConnection conn, string table)
    {
        var rows = new List<(string, string, int)>();
        await using var select = new NpgsqlCommand($"SELECT badge, notes, salary FROM {table} ORDER BY id", conn);
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
        }
        return rows;
    }

    [Fact]
    public async Task TheHostsDetectorAndStyleMaskWhatNpgsqlReads()
    {
        int port = Ports.Free();
        string table = CreateTable();
        using var host = BuildHost(Settings(port, table, "keep-prefix"), wire => wire
            .AddDetector<EmployeeIdDetector>()
            .AddDetector<EmployeeIdDetector>() // TryAddEnumerable: registered once
            .AddMasker<KeepPrefixMasker>());
        Assert.Single(host.Services.GetServices<IContentDetector>());
        await host.StartAsync();
        try
        {
            await using var conn = new NpgsqlConnection(ConnectionString(port));
            await conn.OpenAsync();
            var rows = await ReadStaffAsync(conn, table);
            // badge and salary are named (the host's style; an integer in binary gets what full gives it), notes is scanned.
            Assert.Equal(
                new (string, string, int)[] { ("B-******", "met EMP-****** today; EMP-12 is no id", 0), ("EMP-******", "nothing here", 0) },
                rows);

            // Expression columns pass the detectors too.
            await using (var expression = new NpgsqlCommand("SELECT 'ref ' || 'EMP-' || '654321' AS ref", conn))
            {
                Assert.Equal("ref EMP-******", await expression.ExecuteScalarAsync());
            }
            await using (var batch = new NpgsqlBatch(conn) { BatchCommands = { new NpgsqlBatchCommand("SELECT 'EMP-777777 and EMP-888888'") } })
            {
                Assert.Equal("EMP-****** and EMP-******", await batch.ExecuteScalarAsync());
            }
        }
        finally
        {
            await host.StopAsync();
            DropTable(table);
        }
    }

    [Theory]
    [InlineData("quotes")]
    [InlineData("throws")]
    public async Task AMaskerThatBreaksValuesOrThrowsGivesTheFullStyle(string style)
    {
        int port = Ports.Free();
        string table = CreateTable();
        using var host = BuildHost(Settings(port, table, style), wire => wire
            .AddDetector<EmployeeIdDetector>()
            .AddMasker<QuotingMasker>()
            .AddMasker<ThrowingMasker>());
        await host.StartAsync();
        try
        {
            await using var conn = new NpgsqlConnection(ConnectionString(port));
            await conn.OpenAsync();
            var rows = await ReadStaffAsync(conn, table);
            Assert.Equal(
                new (string, string, int)[] { ("********", "met ********** today; EMP-12 is no id", 0), ("**********", "nothing here", 0) },
                rows);
        }
        finally
        {
            await host.StopAsync();
            DropTable(table);
        }
    }

    [Fact]
    public async Task ARuleNamingADetectorNoHostAddedStopsTheStartNamingTheKey()
    {
        var settings = Settings(Ports.Free(), "cm_none", "keep-prefix");
        settings["Wire:rules:0:detectors:0"] = "employee-ids";
        using var host = BuildHost(settings, wire => wire.AddDetector<EmployeeIdDetector>().AddMasker<KeepPrefixMasker>());
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Wire: rules[0].detectors[0]: must be one of card, ssn, email, phone, iban, aws-key, jwt, pem, employee-id",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARuleNamingAStyleNoHostAddedStopsTheStartNamingTheKey()
    {
        using var host = BuildHost(Settings(Ports.Free(), "cm_none", "keep-prefix"), wire => wire.AddDetector<EmployeeIdDetector>());
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Wire: rules[0].style: must be one of partial, email, digits, full", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADetectorWithABuiltInNameStopsTheStart()
    {
        using var host = BuildHost(Settings(Ports.Free(), "cm_none", "keep-prefix"), wire => wire
            .AddDetector<EmployeeIdDetector>()
            .AddDetector<CardNamedDetector>()
            .AddMasker<KeepPrefixMasker>());
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Wire: custom detector CardNamedDetector: 'card' is the name of a built-in detector", error.Message, StringComparison.Ordinal);
    }

    /// <summary><c>EMP-</c> and six digits, not inside a longer word.</summary>
    private sealed class EmployeeIdDetector : IContentDetector
    {
        public string Name => "employee-id";

        public int MaxLength => 10;

        public bool TryFind(ReadOnlySpan<byte> text, out int start, out int length)
        {
            for (int at = 0; at + 10 <= text.Length; at++)
            {
                if (text[at..].StartsWith("EMP-"u8) && (at == 0 || !char.IsAsciiLetterOrDigit((char)text[at - 1]))
                    && !text.Slice(at + 4, 6).ContainsAnyExceptInRange((byte)'0', (byte)'9')
                    && (at + 10 == text.Length || !char.IsAsciiLetterOrDigit((char)text[at + 10])))
                {
                    (start, length) = (at, 10);
                    return true;
                }
            }
            (start, length) = (0, 0);
            return false;
        }
    }

    private sealed class CardNamedDetector : IContentDetector
    {
        public string Name => "card";

        public int MaxLength => 19;

        public bool TryFind(ReadOnlySpan<byte> text, out int start, out int length)
        {
            (start, length) = (0, 0);
            return false;
        }
    }

    /// <summary>Keeps the prefix up to the first hyphen, stars the rest.</summary>
    private sealed class KeepPrefixMasker : IMasker
    {
        public string Name => "keep-prefix";

        public void Mask(Span<byte> utf8Value) => utf8Value[(utf8Value.IndexOf((byte)'-') + 1)..].Fill((byte)'*');
    }

    /// <summary>Writes quotes: a masked value must never gain one (it could end a JSON string or a CSV field).</summary>
    private sealed class QuotingMasker : IMasker
    {
        public string Name => "quotes";

        public void Mask(Span<byte> utf8Value) => utf8Value.Fill((byte)'"');
    }

    private sealed class ThrowingMasker : IMasker
    {
        public string Name => "throws";

        public void Mask(Span<byte> utf8Value) => throw new InvalidOperationException("the masker has a bug");
    }
}
