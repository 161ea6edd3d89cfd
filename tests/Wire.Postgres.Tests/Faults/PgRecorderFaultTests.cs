using System.Net;
using System.Net.Sockets;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Postgres.Tests.Proxy;
using Wire.Testing;

namespace Wire.Postgres.Tests.Faults;

/// <summary>
/// The recorder's disk fails under <c>wire run</c> (recording.onFailure deny, the default): a full file system in the
/// middle of a session, or a read-only one when a session starts. Statements are refused with 58000 and the client is
/// told why, Wire logs the failure, <c>wire verify</c> never accepts what was half written, and once the disk is back
/// new sessions are recorded again.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PgRecorderFaultTests(PostgresFixture fixture) : IDisposable
{
    private const string Token = "recorder-fault-token";
    private const string Refusal = "wire: the session recording failed; statements are refused";
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-recorder-fault-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static TmpfsMount Mount(long size) => TmpfsMount.TryCreate(size)
        ?? throw new InvalidOperationException("these tests mount a tmpfs: run them as root or with passwordless sudo (as .ci/run does)");

    [Fact(Timeout = 90_000)]
    public async Task A_disk_that_fills_mid_session_refuses_statements_with_58000_and_the_cut_recording_never_verifies()
    {
        using var disk = Mount(512 * 1024);
        var (wire, port, config) = await StartAsync(disk.Path);
        await using var _ = wire;
        string table = await CreateTableAsync();

        await using (var client = await LoginAsync(port))
        {
            Assert.Empty(Errors(await QueryAsync(client, $"INSERT INTO public.{table} VALUES (1)")));

            disk.Fill();

            // Recording is written off the session's path: the failure shows at the next write, and from then on every
            // statement is refused (bounded: 100 tries, 50 ms apart).
            int attempt = 0;
            List<PgMessage> answer;
            do
            {
                Assert.True(attempt++ < 100, "no statement was refused after the disk filled\n" + wire.Output);
                await Task.Delay(50);
                answer = await QueryAsync(client, $"INSERT INTO public.{table} VALUES (2)");
            }
            while (Errors(answer).Count == 0);
            AssertRefused(answer);
            long ranBeforeTheFailureShowed = attempt - 1;

            for (int i = 0; i < 3; i++)
            {
                AssertRefused(await QueryAsync(client, $"INSERT INTO public.{table} VALUES (3)"));
            }
            Assert.Equal(1 + ranBeforeTheFailureShowed, await CountAsync(table));
            Assert.Equal(0L, await CountAsync(table, "id = 3"));
            await client.SendAsync(RawPgClient.Terminate());
        }

        await wire.WaitForAsync("failed; nothing more is recorded for this session", TimeSpan.FromSeconds(10));
        string cut = Assert.Single(Directory.GetFiles(disk.Path, "*.jsonl"));

        // Space again: the gateway records new sessions, and those verify.
        disk.Free();
        await using (var client = await LoginAsync(port))
        {
            Assert.Empty(Errors(await QueryAsync(client, "SELECT 1")));
            await client.SendAsync(RawPgClient.Terminate());
        }
        string good = await WaitForCompleteRecordingAsync(disk.Path, except: cut);

        var verify = await VerifyAsync(disk.Path, config);
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains($"BAD {cut}: ", verify.Output, StringComparison.Ordinal);
        Assert.Matches($"BAD {System.Text.RegularExpressions.Regex.Escape(cut)}: record \\d+: truncated", verify.Output);
        Assert.Contains($"OK {good} (", verify.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_read_only_recording_directory_refuses_every_statement_of_new_sessions_until_it_is_writable_again()
    {
        using var disk = Mount(512 * 1024);
        var (wire, port, config) = await StartAsync(disk.Path);
        await using var _ = wire;
        string table = await CreateTableAsync();
        disk.RemountReadOnly();

        await using (var client = await LoginAsync(port))
        {
            // The recording cannot even be created: the very first statement is refused, and every one after it.
            for (int i = 0; i < 3; i++)
            {
                AssertRefused(await QueryAsync(client, $"INSERT INTO public.{table} VALUES ({i})"));
            }
            await client.SendAsync(RawPgClient.Terminate());
        }
        Assert.Equal(0L, await CountAsync(table));
        await wire.WaitForAsync("cannot create recording", TimeSpan.FromSeconds(10));
        Assert.Empty(Directory.GetFiles(disk.Path, "*.jsonl"));

        // Nothing to accept: verify finds no recording (exit 2), never an OK.
        var empty = await VerifyAsync(disk.Path, config);
        Assert.Equal(2, empty.ExitCode);
        Assert.DoesNotContain("OK ", empty.Output, StringComparison.Ordinal);

        disk.RemountReadWrite();
        await using (var client = await LoginAsync(port))
        {
            Assert.Empty(Errors(await QueryAsync(client, $"INSERT INTO public.{table} VALUES (10)")));
            await client.SendAsync(RawPgClient.Terminate());
        }
        Assert.Equal(1L, await CountAsync(table));
        string good = await WaitForCompleteRecordingAsync(disk.Path, except: null);
        var verify = await VerifyAsync(disk.Path, config);
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains($"OK {good} (", verify.Output, StringComparison.Ordinal);
    }

    private static void AssertRefused(List<PgMessage> answer)
    {
        var error = Assert.Single(Errors(answer));
        Assert.Equal("58000", error.Fields()['C']);
        Assert.Equal(Refusal, error.Fields()['M']);
        Assert.DoesNotContain(answer, m => m.Tag == 'C');
        Assert.Equal('Z', answer[^1].Tag);
    }

    private static List<PgMessage> Errors(List<PgMessage> answer) => [.. answer.Where(m => m.Tag == 'E')];

    private static async Task<List<PgMessage>> QueryAsync(RawPgClient client, string sql)
    {
        await client.SendAsync(RawPgClient.Query(sql));
        return await client.ReadUntilAsync('Z', TimeSpan.FromSeconds(10));
    }

    private static async Task<RawPgClient> LoginAsync(int port)
    {
        var client = await RawPgClient.ConnectAsync(port);
        await client.SendAsync(RawPgClient.Startup(RawPgClient.StartupParameters()));
        Assert.Equal('R', (await client.ReadMessageAsync())!.Tag);
        await client.SendAsync(RawPgClient.Password(Token));
        var login = await client.ReadUntilAsync('Z');
        Assert.DoesNotContain(login, m => m.Tag == 'E');
        return client;
    }

    private async Task<(WireProcess Wire, int Port, string Config)> StartAsync(string recordings)
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        File.WriteAllText(Path.Combine(_directory, "db-password"), fixture.ScramPassword + "\n");
        File.WriteAllText(Path.Combine(_directory, "recording.key"), "recorder-fault-key-0123456789abcdef0123456789\n");
        string config = Path.Combine(_directory, "wire.json");
        File.WriteAllText(config, $$"""
            {
              "identity": { "tokens": [ { "token": "{{Token}}", "subject": "alice", "groups": ["eng"] } ] },
              "postgres": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{fixture.Port}}, "database": "app",
                               "username": "{{PostgresFixture.ScramUser}}", "password": "file:db-password", "sslMode": "disable" } ]
              },
              "rules": [],
              "recording": { "directory": "{{recordings}}", "key": "file:recording.key" },
              "shutdownTimeout": "00:00:02"
            }
            """);
        var wire = WireProcess.Start("run", "--config", config);
        await wire.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));
        return (wire, port, config);
    }

    private async Task<string> CreateTableAsync()
    {
        string table = "recorder_fault_" + Guid.NewGuid().ToString("N")[..10];
        await using var super = await Direct.OpenSuperUserAsync(fixture, PostgresFixture.Database);
        await using var create = new NpgsqlCommand($"CREATE TABLE public.{table} (id int); ALTER TABLE public.{table} OWNER TO {PostgresFixture.ScramUser}", super);
        await create.ExecuteNonQueryAsync();
        return table;
    }

    private async Task<long> CountAsync(string table, string where = "true")
    {
        await using var super = await Direct.OpenSuperUserAsync(fixture, PostgresFixture.Database);
        return await Direct.ScalarAsync<long>(super, $"SELECT count(*) FROM public.{table} WHERE {where}");
    }

    /// <summary>The recording (other than <paramref name="except"/>) once its session.end is written (bounded).</summary>
    private static async Task<string> WaitForCompleteRecordingAsync(string directory, string? except)
    {
        string? done = null;
        Assert.True(await Eventually.WaitAsync(() =>
        {
            done = Directory.GetFiles(directory, "*.jsonl")
                .FirstOrDefault(f => f != except && File.ReadAllText(f).Contains("\"type\":\"session.end\"", StringComparison.Ordinal));
            return done is not null;
        }), "no complete recording of the session after the disk came back");
        return done!;
    }

    private static async Task<(int ExitCode, string Output)> VerifyAsync(string path, string config)
    {
        await using var verify = WireProcess.Start("verify", path, "--config", config);
        int exit = await verify.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return (exit, verify.Output);
    }
}
