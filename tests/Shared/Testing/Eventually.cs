namespace Wire.Testing;

/// <summary>Bounded polling for what happens shortly after an action (a session leaving a registry, a file appearing).</summary>
internal static class Eventually
{
    /// <summary>Whether <paramref name="condition"/> held within about 10 seconds (checked every 50 ms).</summary>
    public static async Task<bool> WaitAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200; i++)
        {
            if (condition())
            {
                return true;
            }
            await Task.Delay(50);
        }
        return condition();
    }

    /// <summary>
    /// Polls <paramref name="read"/> every 250 ms until it returns the same value eight times in a row (2 s), for at most
    /// a minute; returns that value, or null if it never settled.
    /// </summary>
    public static async Task<long?> SteadyAsync(Func<long> read)
    {
        long held = -1;
        int steady = 0;
        for (int i = 0; i < 240 && steady < 8; i++)
        {
            await Task.Delay(250);
            long now = read();
            steady = now == held ? steady + 1 : 0;
            held = now;
        }
        return steady == 8 ? held : null;
    }
}
