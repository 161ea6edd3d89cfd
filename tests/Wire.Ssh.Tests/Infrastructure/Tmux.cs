using System.Globalization;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>
/// A tmux server of its own (a unique socket, <c>-S</c> in a temporary directory, so nothing is left behind) running one detached session whose pane is a real terminal: a
/// program runs in it as under a person's keyboard, keys are typed with <c>send-keys</c> and the screen is read with
/// <c>capture-pane</c>. No status line (the pane is the whole window), and a pane whose program ended stays with its last
/// screen. The server (and whatever still runs in it) is killed on dispose.
/// </summary>
internal sealed class Tmux : IAsyncDisposable
{
    private const string Session = "wire";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _directory = new();
    private readonly string _socket;

    private Tmux()
    {
        _socket = Path.Combine(_directory.Path, "socket");
    }

    /// <summary>Starts <paramref name="command"/> (a shell command line) in a new <paramref name="width"/> x <paramref name="height"/> pane.</summary>
    public static async Task<Tmux> StartAsync(string command, int width, int height)
    {
        var tmux = new Tmux();
        try
        {
            string config = tmux._directory.Write("tmux.conf", "set -g status off\nset -g remain-on-exit on\nset -g history-limit 10000\n");
            await tmux.RunAsync("-f", config, "new-session", "-d", "-s", Session, "-x", width.ToString(CultureInfo.InvariantCulture),
                "-y", height.ToString(CultureInfo.InvariantCulture), command);
            return tmux;
        }
        catch
        {
            await tmux.DisposeAsync();
            throw;
        }
    }

    /// <summary>Types <paramref name="text"/> literally, then Enter.</summary>
    public async Task TypeLineAsync(string text)
    {
        await RunAsync("send-keys", "-t", Session, "-l", text);
        await RunAsync("send-keys", "-t", Session, "Enter");
    }

    /// <summary>Types <paramref name="text"/> literally, without Enter.</summary>
    public Task TypeAsync(string text) => RunAsync("send-keys", "-t", Session, "-l", text);

    /// <summary>Presses keys by tmux's names (<c>Tab</c>, <c>Up</c>, <c>Left</c>, <c>BSpace</c>, <c>Home</c>, <c>Enter</c>, <c>C-u</c>).</summary>
    public Task KeysAsync(params string[] keys) => RunAsync(["send-keys", "-t", Session, .. keys]);

    /// <summary>The pane's screen and history, wrapped lines joined.</summary>
    public Task<string> CaptureAsync() => RunAsync("capture-pane", "-p", "-J", "-S", "-", "-t", Session);

    /// <summary>A tmux format for the pane (<c>#{pane_dead}</c> and the like).</summary>
    public async Task<string> DisplayAsync(string format) => (await RunAsync("display-message", "-p", "-t", Session, format)).TrimEnd('\n');

    /// <summary>Resizes the window (and so the pane: ssh in it gets SIGWINCH).</summary>
    public Task ResizeAsync(int width, int height) => RunAsync("resize-window", "-t", Session, "-x", width.ToString(CultureInfo.InvariantCulture),
        "-y", height.ToString(CultureInfo.InvariantCulture));

    /// <summary>Polls the screen until <paramref name="found"/> holds; the screen then. Throws with the screen after <paramref name="timeout"/>.</summary>
    public async Task<string> WaitForScreenAsync(Func<string, bool> found, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            string screen = await CaptureAsync();
            if (found(screen))
            {
                return screen;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not appear within {timeout}; the screen:\n{screen}");
            }
            await Task.Delay(100);
        }
    }

    private async Task<string> RunAsync(params string[] arguments)
    {
        var result = await Processes.RunAsync("tmux", ["-S", _socket, .. arguments], CommandTimeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.StandardError}");
        }
        return result.StandardOutput;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Processes.RunAsync("tmux", ["-S", _socket, "kill-server"], CommandTimeout);
        }
        catch (TimeoutException)
        {
            // Best effort: the test's own failure matters more.
        }
        _directory.Dispose();
    }
}
