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
}
