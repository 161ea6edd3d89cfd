using System.Buffers;
using System.Runtime.InteropServices;

namespace Wire.Fuzz.Driver;

/// <summary>Where a guarded buffer lies against its guard page.</summary>
internal enum GuardPlacement
{
    /// <summary>The last byte is the last byte before a PROT_NONE page: reading past the end faults.</summary>
    EndAtGuard,

    /// <summary>The first byte is the first byte after a PROT_NONE page: reading before the start faults.</summary>
    StartAfterGuard,
}

/// <summary>
/// Buffers of native memory, each in its own mapping with a PROT_NONE page on both sides and placed flush against one
/// of them, the way guard-malloc tools (Electric Fence, libdislocator) catch overreads. Freed together on dispose.
/// </summary>
internal sealed partial class GuardedArena(GuardPlacement placement) : IDisposable
{
    private const int ProtNone = 0;
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;

    private readonly List<Mapping> _mappings = [];

    /// <summary>A writable buffer of <paramref name="length"/> bytes, guarded as the arena's placement says.</summary>
    public Memory<byte> Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        nuint page = (nuint)Environment.SystemPageSize;
        nuint dataPages = Math.Max(1, ((nuint)length + page - 1) / page);
        nuint size = (dataPages + 2) * page;
        nint mapping = Mmap(0, size, ProtNone, MapPrivate | MapAnonymous, -1, 0);
        if (mapping == -1)
        {
            throw new InvalidOperationException($"mmap of {size} bytes failed: errno {Marshal.GetLastPInvokeError()}");
        }
        _mappings.Add(new Mapping(mapping, size));
        nint data = mapping + (nint)page;
        if (Mprotect(data, dataPages * page, ProtRead | ProtWrite) != 0)
        {
            throw new InvalidOperationException($"mprotect failed: errno {Marshal.GetLastPInvokeError()}");
        }
        nint start = placement == GuardPlacement.EndAtGuard ? data + (nint)(dataPages * page) - length : data;
        var manager = new NativeBuffer(start, length);
        return manager.Memory;
    }

    public void Dispose()
    {
        foreach (var mapping in _mappings)
        {
            _ = Munmap(mapping.Address, mapping.Size);
        }
        _mappings.Clear();
    }

    private readonly record struct Mapping(nint Address, nuint Size);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint address, nuint length, int protection);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint address, nuint length);

    /// <summary>A <see cref="Memory{T}"/> over native bytes the arena owns (never pinned: they cannot move).</summary>
    private sealed unsafe class NativeBuffer(nint start, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new((void*)start, length);

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)length);
            return new MemoryHandle((byte*)start + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
