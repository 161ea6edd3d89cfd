using Microsoft.Playwright;

namespace Wire.Postgres.Tests.Gateway;

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>), headless and driven by Playwright, for the tests that click through the
/// approval page; disposing it closes the browser and Playwright's driver.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private const string Executable = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private HeadlessChromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    /// <summary>Launches the browser; fails naming the package when it is not installed.</summary>
    public static async Task<HeadlessChromium> LaunchAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: install Debian's chromium package (.ci/run does)");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Executable,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            return new HeadlessChromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
