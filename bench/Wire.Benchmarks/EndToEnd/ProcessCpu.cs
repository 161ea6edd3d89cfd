using System.Globalization;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>CPU time (user + system) a Linux process has used so far, from /proc/PID/stat.</summary>
internal static class ProcessCpu
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public static TimeSpan Read(int pid)
    {
        try
        {
            // utime and stime are fields 14 and 15 of /proc/PID/stat.
            string[] fields = StatFields(pid);
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>The fields of /proc/PID/stat after the parenthesised command name (field 3 onwards).</summary>
    private static string[] StatFields(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    /// <summary>CPU time of a process and its direct children (nginx's master and workers).</summary>
    public static TimeSpan ReadTree(int pid)
    {
        var total = Read(pid);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int child) || child == pid)
            {
                continue;
            }
            try
            {
                if (int.Parse(StatFields(child)[1], CultureInfo.InvariantCulture) == pid)
                {
                    total += Read(child);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
            }
        }
        return total;
    }

    /// <summary>The pid of the newest process whose command line contains <paramref name="text"/>, or 0.</summary>
    public static int Find(string text)
    {
        int found = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal) && !cmdline.StartsWith("runuser", StringComparison.Ordinal) && pid > found)
                {
                    found = pid;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
