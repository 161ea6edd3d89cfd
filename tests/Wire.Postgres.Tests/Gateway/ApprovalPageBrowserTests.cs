using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Playwright;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Gateway;

/// <summary>
/// The approval page in a real browser (issue 9): a DELETE sent by psql through <c>wire run</c> waits for review; a
/// reviewer signs in to the page in headless Chromium (Debian's package, driven by Playwright), sees the statement
/// (shown as text, markup in it not rendered), clicks Approve, and psql completes.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ApprovalPageBrowserTests(PostgresFixture pg) : IDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    private const string AliceToken = "tok-alice-browser-1";
    private const string BobToken = "tok-bob-browser-2";
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-approval-page-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_statement_paused_in_psql_is_approved_by_clicking_the_button()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (.ci/run does)");
        int port = FreePort();
        int admin = FreePort();
        File.WriteAllText(Path.Combine(_directory, "db-password"), pg.ScramPassword + "\n");
        string config = Path.Combine(_directory, "gateway.json");
        File.WriteAllText(config, $$"""
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
            """);
        await using var wire = WireProcess.Start("run", "--config", config);
        await wire.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));
        await wire.WaitForAsync("Admin API and approval page listening", TimeSpan.FromSeconds(30));

        using var psql = StartPsql(port, "CREATE TEMP TABLE t (name text); DELETE FROM t WHERE name = '<b id=\"injected\">bold</b>'");
        var output = psql.StandardOutput.ReadToEndAsync();
        var errors = psql.StandardError.ReadToEndAsync();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{admin}/approvals");
        await page.FillAsync("#token", BobToken);
        await page.ClickAsync("#signin");

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

    private static Process StartPsql(int port, string sql)
    {
        var info = new ProcessStartInfo("psql") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-X", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", "alice", "-d", "app", "-c", sql })
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["PGPASSWORD"] = AliceToken;
        info.Environment["PGSSLMODE"] = "disable";
        return Process.Start(info) ?? throw new InvalidOperationException("psql did not start");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
