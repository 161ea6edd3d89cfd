using System.Collections.Concurrent;

namespace Wire.Enforcement.Recording;

/// <summary>
/// The one thread that writes every open recording's buffered lines to its file, every <see cref="Interval"/>.
/// </summary>
/// <remarks>
/// Sessions sign their records on their own threads (<see cref="FileSessionRecorder.TryRecord"/>) and never wait for
/// it. One thread on a fixed tick costs one wake-up per tick for the whole process, where a writer per session woke
/// once per record or batch, and those wake-ups, not the writes, set a busy session's latency and CPU. While no
/// recording is open the thread sleeps until one starts.
/// </remarks>
internal static class RecordingFlusher
{
    /// <summary>How long a record waits at most, besides the write itself, before it reaches its file.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(5);

    private static readonly ConcurrentQueue<FileSessionRecorder> s_scheduled = new();
    private static readonly object s_gate = new(); // Monitor.Wait/Pulse: the thread parks while nothing is open
    private static int s_open;
    private static Thread? s_thread;

    /// <summary>A recorder opened: keeps the thread ticking until every open recorder has closed.</summary>
    public static void Opened()
    {
        lock (s_gate)
        {
            s_open++;
            if (s_thread is null)
            {
                s_thread = new Thread(Run) { IsBackground = true, Name = "Wire recording flusher" };
                s_thread.Start();
            }
            else if (s_open == 1)
            {
                Monitor.Pulse(s_gate);
            }
        }
    }

    /// <summary>A recorder closed (its last lines written by its own completion).</summary>
    public static void Closed()
    {
        lock (s_gate)
        {
            s_open--;
        }
    }

    /// <summary>Writes <paramref name="recorder"/>'s buffer at the next tick. The caller schedules each recorder at most once until it is flushed.</summary>
    public static void Schedule(FileSessionRecorder recorder) => s_scheduled.Enqueue(recorder);

    private static void Run()
    {
        while (true)
        {
            lock (s_gate)
            {
                while (s_open == 0 && s_scheduled.IsEmpty)
                {
                    Monitor.Wait(s_gate);
                }
            }

            Thread.Sleep(Interval);

            // Only what was scheduled before this pass: a recorder that schedules itself again waits for the next tick.
            for (int n = s_scheduled.Count; n > 0 && s_scheduled.TryDequeue(out var recorder); n--)
            {
                recorder.Flush();
            }
        }
    }
}
