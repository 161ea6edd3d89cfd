using System.Diagnostics;
using System.Globalization;
using Microsoft.Playwright;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Gateway;

/// <summary>
/// The approval page in a real browser (issue 9): a DELETE sent by psql through <c>wire run</c> waits for review; a
/// reviewer signs in to the page in headless Chromium (Debian's package, driven by Playwright), sees the statement
/// (shown as text, markup in it not rendered), clicks Approve, and psql completes. A just-in-time grant asked for on
/// the page is approved and revoked by clicking, and psql is admitted to the target in between.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ApprovalPageBrowserTests(PostgresFixture pg) : IDisposable
{
    private const string AliceToken = "tok-alice-browser-1";
    private const string BobToken = "tok-bob-browser-2";
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-approval-page-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_statement_paused_in_psql_is_approved_by_clicking_the_button()
    {
        await using var chromium = await HeadlessChromium.LaunchAsync();
        int port = TlsProbe.FreePort();
        int admin = TlsProbe.FreePort();
        File.WriteAllText(Path.Combine(_directory, "db-password"), pg.ScramPassword + "\n");
        await using var wire = await WireRun.StartAsync(_directory, $$"""
            {
              "identity": { "tokens": [
                { "token": "{{AliceToken}}", "subject": "alice", "groups": ["eng"] },
                { "token": "{{BobToken}}", "subject": "bob", "groups": ["dba"] } ] },
              "postgres": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app",
                               "username": "{{PostgresFixture.ScramUser}}", "password": "file:db-password", "sslMode": "disable" } ]
              },
              "rules": [ { "name": "review-deletes", "action": "review", "statements": ["delete"], "approvers": ["dba"], "timeout": "00:02:00" } ],
              "admin": { "listen": "127.0.0.1:{{admin}}" }
            }
            """, "Listening for postgres", WireRun.AdminListening);

        using var psql = StartPsql(port, "CREATE TEMP TABLE t (name text); DELETE FROM t WHERE name = '<b id=\"injected\">bold</b>'");
        var output = psql.StandardOutput.ReadToEndAsync();
        var errors = psql.StandardError.ReadToEndAsync();

        var page = await SignInAsync(chromium.Browser, admin, BobToken);

        var row = page.Locator("#pending tbody tr", new PageLocatorOptions { HasText = "DELETE FROM t" });
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });
        Assert.Contains("alice", await row.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("review-deletes", await row.InnerTextAsync(), StringComparison.Ordinal);
        // The statement is shown as text: its markup is visible, not rendered.
        Assert.Contains("<b id=\"injected\">bold</b>", await row.Locator("td.text").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#injected").CountAsync());
        Assert.False(psql.HasExited, "psql did not wait for the review");

        await row.Locator("button[data-action=approve]").ClickAsync();
        using var done = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await psql.WaitForExitAsync(done.Token);
        Assert.True(psql.ExitCode == 0, await errors);
        Assert.Contains("DELETE 0", await output, StringComparison.Ordinal);
        await page.Locator("#status", new PageLocatorOptions { HasText = "approved" }).WaitForAsync(new LocatorWaitForOptions { Timeout = 10_000 });
    }

    [Fact]
    public async Task A_grant_asked_for_on_the_page_is_approved_by_clicking_and_opens_the_target()
    {
        await using var chromium = await HeadlessChromium.LaunchAsync();
        int port = TlsProbe.FreePort();
        int admin = TlsProbe.FreePort();
        File.WriteAllText(Path.Combine(_directory, "db-password"), pg.ScramPassword + "\n");
        await using var wire = await WireRun.StartAsync(_directory, $$"""
            {
              "identity": { "tokens": [
                { "token": "{{AliceToken}}", "subject": "alice", "groups": ["eng"] },
                { "token": "{{BobToken}}", "subject": "bob", "groups": ["dba"] } ] },
              "postgres": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "prod", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app", "requireGrant": true,
                               "username": "{{PostgresFixture.ScramUser}}", "password": "file:db-password", "sslMode": "disable" } ]
              },
              "admin": { "listen": "127.0.0.1:{{admin}}", "groups": ["dba"] }
            }
            """, "Listening for postgres", WireRun.AdminListening);

        var refused = await RunPsqlAsync(port, "prod", "SELECT 'in' || 'side'");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("no valid grant for target \"prod\"", refused.Errors, StringComparison.Ordinal);

        // alice asks on the page; the reason is shown as text.
        var alice = await SignInAsync(chromium.Browser, admin, AliceToken);
        await alice.FillAsync("#grant-target", "prod");
        await alice.FillAsync("#grant-duration", "00:10:00");
        await alice.FillAsync("#grant-reason", "<i id=\"injected\">incident</i> 12");
        await alice.ClickAsync("#ask-grant");
        await alice.Locator("#grant-status", new PageLocatorOptions { HasText = "pending" }).WaitForAsync(new LocatorWaitForOptions { Timeout = 10_000 });
        var own = alice.Locator("#grants tbody tr", new PageLocatorOptions { HasText = "prod" });
        Assert.True(await own.Locator("button[data-action=approve]").IsDisabledAsync(), "the requester may not approve");

        // bob approves it on his page.
        var bob = await SignInAsync(chromium.Browser, admin, BobToken);
        var row = bob.Locator("#grants tbody tr", new PageLocatorOptions { HasText = "prod" });
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });
        Assert.Contains("alice", await row.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("<i id=\"injected\">incident</i> 12", await row.Locator("td.text").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await bob.Locator("#injected").CountAsync());
        await row.Locator("button[data-action=approve]").ClickAsync();
        await bob.Locator("#grant-status", new PageLocatorOptions { HasText = "active" }).WaitForAsync(new LocatorWaitForOptions { Timeout = 10_000 });

        var admitted = await RunPsqlAsync(port, "prod", "SELECT 'in' || 'side'");
        Assert.True(admitted.ExitCode == 0, admitted.Errors);
        Assert.Contains("inside", admitted.Output, StringComparison.Ordinal);

        // bob revokes it; psql is refused again.
        await row.Locator("button[data-action=revoke]").ClickAsync();
        await bob.Locator("#grant-status", new PageLocatorOptions { HasText = "revoked" }).WaitForAsync(new LocatorWaitForOptions { Timeout = 10_000 });
        Assert.NotEqual(0, (await RunPsqlAsync(port, "prod", "SELECT 1")).ExitCode);
    }

    /// <summary>A page of its own (a fresh browser context) signed in to the approval page with <paramref name="token"/>.</summary>
    private static async Task<IPage> SignInAsync(IBrowser browser, int admin, string token)
    {
        var page = await (await browser.NewContextAsync()).NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{admin}/approvals");
        await page.FillAsync("#token", token);
        await page.ClickAsync("#signin");
        return page;
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunPsqlAsync(int port, string database, string sql)
    {
        using var psql = StartPsql(port, sql, database);
        var output = psql.StandardOutput.ReadToEndAsync();
        var errors = psql.StandardError.ReadToEndAsync();
        using var done = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await psql.WaitForExitAsync(done.Token);
        return (psql.ExitCode, await output, await errors);
    }

    private static Process StartPsql(int port, string sql, string database = "app")
    {
        var info = new ProcessStartInfo("psql") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-X", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", "alice", "-d", database, "-c", sql })
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["PGPASSWORD"] = AliceToken;
        info.Environment["PGSSLMODE"] = "disable";
        return Process.Start(info) ?? throw new InvalidOperationException("psql did not start");
    }
}
