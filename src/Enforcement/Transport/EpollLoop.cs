using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using static Wire.Enforcement.Transport.EpollInterop;

namespace Wire.Enforcement.Transport;

/// <summary>
/// One thread waiting on one level-triggered epoll set and doing each ready connection's receive,
/// and the relay work that follows it, right there. .NET's own socket engine tries a receive before
/// it waits, so every message costs a second receive that fails with EAGAIN; on a virtual machine
/// where a system call traps to the hypervisor that was Wire's largest overhead. Here a receive is
/// only issued when epoll says there is data: one receive and one send per message, as pgbouncer does.
/// </summary>
internal sealed unsafe class EpollLoop
{
    private const int MaxEvents = 256;
    private static readonly Lazy<EpollLoop[]?> Loops = new(Create);
    private static int s_next;

    [ThreadStatic]
    private static EpollLoop? t_current;

    private readonly int _epfd;
    private readonly ConcurrentDictionary<ulong, EpollSocketPipe> _pipes = new();
    private long _nextId;

    private EpollLoop(int epfd, int index)
    {
        _epfd = epfd;
        Index = index;
        var thread = new Thread(Run) { IsBackground = true, Name = "wire-epoll-" + index };
        thread.Start();
    }

    /// <summary>This loop's place among the process's loops, from 0.</summary>
    public int Index { get; }

    /// <summary>How many loops the process runs (0 where epoll is not used).</summary>
    public static int Count => Loops.Value?.Length ?? 0;

    /// <summary>The loop whose thread is running the caller, or null.</summary>
    public static EpollLoop? Current => t_current;

    /// <summary>
    /// The loop a new connection joins, or null where epoll is not available (not Linux, or turned off). A connection
    /// opened from a loop's own thread (an upstream a session on that loop dials) joins that loop, so the relay between
    /// the two never changes threads; others are spread round-robin. One loop per two cores by default (the other half
    /// is left to the kernel's network work and to whatever shares the machine), <c>WIRE_EPOLL_LOOPS</c> to choose: one
    /// busy loop batches many connections' events per wake-up, which on a small shared machine beats two.
    /// </summary>
    public static EpollLoop? Next()
    {
        if (Loops.Value is not { } loops)
        {
            return null;
        }
        return t_current ?? loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)loops.Length)];
    }

    private static EpollLoop[]? Create()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("WIRE_TRANSPORT") == "sockets")
        {
            return null;
        }

        int count = int.TryParse(Environment.GetEnvironmentVariable("WIRE_EPOLL_LOOPS"), out int configured) && configured > 0
            ? Math.Min(configured, 64)
            : Math.Max(1, Environment.ProcessorCount / 2);
        var loops = new EpollLoop[count];
        for (int i = 0; i < count; i++)
        {
            int epfd = epoll_create1(EpollCloexec);
            if (epfd < 0)
            {
                return i == 0 ? null : loops[..i];
            }
            loops[i] = new EpollLoop(epfd, i);
        }
        return loops;
    }

    public ulong Register(EpollSocketPipe pipe, int fd, uint events)
    {
        ulong id = (ulong)Interlocked.Increment(ref _nextId);
        _pipes[id] = pipe;
        if (Control(_epfd, CtlAdd, fd, events, id) != 0)
        {
            _pipes.TryRemove(id, out _);
            throw new System.Net.Sockets.SocketException(Marshal.GetLastPInvokeError());
        }

        return id;
    }

    public void Modify(int fd, ulong id, uint events) => Control(_epfd, CtlMod, fd, events, id);

    public void Unregister(int fd, ulong id)
    {
        Control(_epfd, CtlDel, fd, 0, id);
        _pipes.TryRemove(id, out _);
    }

    private void Run()
    {
        t_current = this;
        int size = Packed ? sizeof(EpollEventPacked) : sizeof(EpollEventAligned);
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * size));
        while (true)
        {
            int n = epoll_wait(_epfd, events, MaxEvents, -1);
            if (n > 0)
            {
                Dispatch(events, n);
            }
            // n < 0: EINTR, wait again.
        }
    }

    // Apart from the endless loop, so that it is compiled (and re-compiled with profile data) like any other method
    // rather than through on-stack replacement.
    private void Dispatch(byte* events, int n)
    {
        for (int i = 0; i < n; i++)
        {
            uint flags;
            ulong id;
            if (Packed)
            {
                var e = ((EpollEventPacked*)events)[i];
                (flags, id) = (e.Events, e.Data);
            }
            else
            {
                var e = ((EpollEventAligned*)events)[i];
                (flags, id) = (e.Events, e.Data);
            }

            // An id removed since epoll_wait returned belongs to a closed connection: ignore it.
            if (_pipes.TryGetValue(id, out var pipe))
            {
                try
                {
                    pipe.OnEvents(flags);
                }
                catch (Exception ex)
                {
                    // The relay that ran inline failed in a way it did not handle: that connection ends,
                    // the loop (and every other connection) goes on.
                    pipe.Fail(ex);
                }
            }
        }
    }
}
