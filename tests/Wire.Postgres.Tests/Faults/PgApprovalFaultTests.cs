using Npgsql;
using Wire.Enforcement;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Policy;
using Wire.Postgres.Tests.Enforcement;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Postgres.Tests.Proxy;

namespace Wire.Postgres.Tests.Faults;

/// <summary>
/// The approval broker fails (DESIGN.md §4: "recorder or approval broker failure" is 58000): the statement under review is
/// refused, never run; the session and Wire go on.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PgApprovalFaultTests(PostgresFixture fixture)
{
    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failing_approval_broker_refuses_the_statement_with_58000_and_the_session_goes_on(bool failsLater)
    {
        var rules = new RuleSetProvider(EnforcementHarness.ExampleRules());
        await using var wire = WireProxyHarness.Start(fixture, enforcement: new WireEnforcement
        {
            Rules = rules,
            Approvals = new FailingBroker(failsLater),
        });
        string table = "broker_fault_" + Guid.NewGuid().ToString("N")[..10];
        await using (var super = await Direct.OpenSuperUserAsync(fixture, PostgresFixture.Database))
        {
            await using var create = new NpgsqlCommand(
                $"CREATE TABLE public.{table} (id int); ALTER TABLE public.{table} OWNER TO {PostgresFixture.ScramUser}; " +
                $"INSERT INTO public.{table} SELECT generate_series(1, 5)", super);
            await create.ExecuteNonQueryAsync();
        }

        // An unbounded DELETE needs a review (rule unbounded-dml); the broker cannot give one. (Npgsql then drops its
        // connection, as it does after any class 58 error.)
        await using (var connection = await wire.OpenClientAsync())
        {
            await using var delete = new NpgsqlCommand($"DELETE FROM public.{table}", connection);
            var error = await Assert.ThrowsAsync<PostgresException>(() => delete.ExecuteNonQueryAsync().WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal("58000", error.SqlState);
            Assert.Equal("ERROR", error.Severity);
            Assert.Equal("wire: the review could not be completed: the approval service failed", error.MessageText);
        }
        await PgUpstreamFaultTests.WaitForLogAsync(wire, "failed, statement refused: ");

        // On the protocol level the session goes on: the refusal is an ERROR followed by ReadyForQuery, and the next
        // statement that needs no review runs in the same session.
        await using (var client = await RawPgClient.ConnectAsync(wire.Port))
        {
            await client.LoginAsync();
            await client.SendAsync(RawPgClient.Query($"DELETE FROM public.{table}"));
            var refused = await client.ReadUntilAsync('Z', TimeSpan.FromSeconds(20));
            var error = Assert.Single(refused, m => m.Tag == 'E');
            Assert.Equal("58000", error.Fields()['C']);
            Assert.DoesNotContain(refused, m => m.Tag == 'C');
            await client.SendAsync(RawPgClient.Query($"DELETE FROM public.{table} WHERE id = 1"));
            var deleted = await client.ReadUntilAsync('Z');
            Assert.Contains(deleted, m => m.Tag == 'C' && System.Text.Encoding.ASCII.GetString(m.Body) == "DELETE 1\0");
            Assert.DoesNotContain(deleted, m => m.Tag == 'E');
        }

        // Nothing of the refused statements ran; another session goes on too.
        await using var other = await wire.OpenClientAsync();
        Assert.Equal(4L, await Direct.ScalarAsync<long>(other, $"SELECT count(*) FROM public.{table}"));

        await using (var super = await Direct.OpenSuperUserAsync(fixture, PostgresFixture.Database))
        {
            await using var drop = new NpgsqlCommand($"DROP TABLE public.{table}", super);
            await drop.ExecuteNonQueryAsync();
        }
    }

    /// <summary>A broker whose store is down: it throws at once, or after the review was pending for a moment.</summary>
    private sealed class FailingBroker(bool later) : IApprovalBroker
    {
        public async ValueTask<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancellationToken)
        {
            if (!later)
            {
                throw new InvalidOperationException("the approval store is down");
            }
            await Task.Delay(300, cancellationToken);
            throw new IOException("the approval store went away");
        }
    }
}
