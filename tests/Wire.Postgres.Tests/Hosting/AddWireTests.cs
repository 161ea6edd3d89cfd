using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Hosting;

/// <summary>
/// <c>services.AddWire(configuration).AddPostgres()</c> in a Generic Host of the test's own, in front of the real server:
/// options read from <see cref="IConfiguration"/> and validated at start, a host's own approval broker and recorder
/// plugged in beside the built-in ones.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AddWireTests(PostgresFixture pg)
{

    // The gateway's config format, as appsettings.json or environment variables would give it: every value a string.
    private Dictionary<string, string?> Settings(int port)
    {
        var settings = EmbeddingHost.Settings(pg, port);
        settings["Wire:identity:tokens:0:groups:0"] = "eng";
        settings["Wire:postgres:limits:maxConnections"] = "50";
        settings["Wire:rules:0:name"] = "no-drop";
        settings["Wire:rules:0:action"] = "deny";
        settings["Wire:rules:0:statements:0"] = "drop";
        settings["Wire:rules:1:name"] = "reviewed-truncate";
        settings["Wire:rules:1:action"] = "review";
        settings["Wire:rules:1:statements:0"] = "truncate";
        settings["Wire:rules:1:approvers:0"] = "dba";
        settings["Wire:rules:1:timeout"] = "00:00:30";
        return settings;
    }

    private static IHost BuildHost(Dictionary<string, string?> settings, Action<IWireBuilder>? extend = null) => EmbeddingHost.Build(settings, extend);

    private static string ConnectionString(int port) => EmbeddingHost.ConnectionString(port);

    [Fact]
    public async Task ListenerFromConfigurationEnforcesRulesWithTheHostsBrokerAndRecorder()
    {
        int port = Ports.Free();
        using var host = BuildHost(Settings(port), wire => wire
            .AddApprovalBroker<ApproveTruncateBroker>()
            .AddApprovalBroker<ApproveTruncateBroker>() // TryAddEnumerable: registered once
            .AddRecorder<MemoryRecorderFactory>()
            .AddRule<EngineersDoNotUpdate>());
        await host.StartAsync();
        try
        {
            await using var conn = new NpgsqlConnection(ConnectionString(port));
            await conn.OpenAsync();
            await using (var select = new NpgsqlCommand("SELECT current_user", conn))
            {
                Assert.Equal(PostgresFixture.ScramUser, await select.ExecuteScalarAsync());
            }

            var denied = await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await using var drop = new NpgsqlCommand("DROP TABLE IF EXISTS embed_nothing", conn);
                await drop.ExecuteNonQueryAsync();
            });
            Assert.Equal("42501", denied.SqlState);
            Assert.Contains("no-drop", denied.MessageText, StringComparison.Ordinal);

            // The review goes to the built-in broker and to the host's; the host's approves it.
            await using (var create = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS embed_reviewed (id int); INSERT INTO embed_reviewed VALUES (1)", conn))
            {
                await create.ExecuteNonQueryAsync();
            }
            // The host's own rule, judged beside the configured ones (at execution: the table exists).
            var refused = await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await using var update = new NpgsqlCommand("UPDATE embed_reviewed SET id = 2", conn);
                await update.ExecuteNonQueryAsync();
            });
            Assert.Equal("42501", refused.SqlState);
            Assert.Contains("engineers-do-not-update", refused.MessageText, StringComparison.Ordinal);
            Assert.Contains("engineers read here", refused.MessageText, StringComparison.Ordinal);

            await using (var truncate = new NpgsqlCommand("TRUNCATE embed_reviewed", conn))
            {
                await truncate.ExecuteNonQueryAsync();
            }
            await using (var count = new NpgsqlCommand("SELECT count(*) FROM embed_reviewed", conn))
            {
                Assert.Equal(0L, await count.ExecuteScalarAsync());
            }
            var broker = host.Services.GetServices<IApprovalBroker>().OfType<ApproveTruncateBroker>().Single();
            Assert.Equal(1, broker.Requests);
        }
        finally
        {
            await host.StopAsync();
        }

        var recorder = host.Services.GetServices<ISessionRecorderFactory>().OfType<MemoryRecorderFactory>().Single();
        var events = recorder.Events.ToArray();
        Assert.Contains(events, e => e.StartsWith("start alice", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Contains("DROP TABLE", StringComparison.Ordinal) && e.Contains("denied", StringComparison.Ordinal));
        Assert.Contains(events, e => e == "complete");
    }

    [Fact]
    public async Task InvalidConfigurationStopsTheStartNamingTheKey()
    {
        var settings = Settings(Ports.Free());
        settings["Wire:postgres:targets:0:port"] = "70000";
        settings["Wire:postgres:colour"] = "blue";
        using var host = BuildHost(settings);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Wire: postgres.colour: unknown key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AListenerWithoutItsSectionStopsTheStart()
    {
        var settings = Settings(Ports.Free()).Where(s => !s.Key.StartsWith("Wire:postgres", StringComparison.Ordinal))
            .ToDictionary(s => s.Key, s => s.Value);
        using var host = BuildHost(settings);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Wire: postgres: required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NumbersAndBooleansMustStillBeValid()
    {
        var settings = Settings(Ports.Free());
        settings["Wire:postgres:allowCleartextWithoutTls"] = "maybe";
        using var host = BuildHost(settings);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("postgres.allowCleartextWithoutTls: must be true or false", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A host's own rule: members of "eng" do not update.</summary>
    private sealed class EngineersDoNotUpdate : IAccessRule
    {
        public string Name => "engineers-do-not-update";

        public Verdict? Evaluate(WireProtocol protocol, string target, WireIdentity identity, in AccessRequest request) =>
            identity.IsInGroup("eng") && request.Kinds.Contains(StatementKind.Update) ? Verdict.Deny(Name, "engineers read here") : null;
    }

    /// <summary>A host's own approver: approves TRUNCATE reviews at once.</summary>
    private sealed class ApproveTruncateBroker : IApprovalBroker
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        public ValueTask<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            return ValueTask.FromResult(request.Text.Contains("TRUNCATE", StringComparison.OrdinalIgnoreCase)
                ? new ApprovalDecision(ApprovalOutcome.Approved, "embedding-test")
                : new ApprovalDecision(ApprovalOutcome.Denied, "embedding-test"));
        }
    }

    /// <summary>A host's own recorder: keeps one line per event in memory.</summary>
    private sealed class MemoryRecorderFactory : ISessionRecorderFactory
    {
        public ConcurrentQueue<string> Events { get; } = new();

        public RecordingFailureMode OnFailure => RecordingFailureMode.Deny;

        public ISessionRecorder Start(string sessionId, SessionStartEvent start)
        {
            Events.Enqueue($"start {start.Subject}");
            return new Recorder(sessionId, Events);
        }

        private sealed class Recorder(string sessionId, ConcurrentQueue<string> events) : ISessionRecorder
        {
            public string SessionId => sessionId;

            public bool IsHealthy => true;

            public bool TryRecord(RecordEvent recordEvent)
            {
                events.Enqueue(recordEvent is CommandEvent command ? $"{command.Text} {command.Outcome}" : recordEvent.GetType().Name);
                return true;
            }

            public ValueTask CompleteAsync(string reason, CancellationToken cancellationToken = default)
            {
                events.Enqueue("complete");
                return ValueTask.CompletedTask;
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
