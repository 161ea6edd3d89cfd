using System.Runtime.InteropServices;

namespace Wire.Enforcement.Transport;

/// <summary>The few Linux calls the epoll transport needs (x86-64 and arm64 layouts).</summary>
internal static unsafe partial class EpollInterop
{
    public const int EpollCloexec = 0x80000;
    public const int CtlAdd = 1;
    public const int CtlDel = 2;
    public const int CtlMod = 3;
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;
    public const int MsgNoSignal = 0x4000;
    public const int EAgain = 11;
    public const int EIntr = 4;
    public const int ShutWr = 1;

    /// <summary>struct epoll_event: packed on x86-64 (12 bytes), naturally aligned elsewhere (16 bytes).</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEventPacked
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct EpollEventAligned
    {
        public uint Events;
        public ulong Data;
    }

    public static bool Packed => RuntimeInformation.ProcessArchitecture == Architecture.X64;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, void* ev);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_wait(int epfd, void* events, int maxevents, int timeout);

    // Non-blocking sockets: recv and send return at once, so the GC transition can be skipped. Without the transition no
    // runtime code runs between the call and the caller, so errno is read directly (Marshal.GetLastSystemError) only when
    // the call failed, instead of being saved around every call.
    [LibraryImport("libc")]
    [SuppressGCTransition]
    public static partial nint recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc")]
    [SuppressGCTransition]
    public static partial nint send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    public static int Control(int epfd, int op, int fd, uint events, ulong data)
    {
        if (Packed)
        {
            var ev = new EpollEventPacked { Events = events, Data = data };
            return epoll_ctl(epfd, op, fd, &ev);
        }
        else
        {
            var ev = new EpollEventAligned { Events = events, Data = data };
            return epoll_ctl(epfd, op, fd, &ev);
        }
    }
}
