namespace Wire.Fuzz.Targets;

/// <summary>
/// Where targets put the copies of their input that a reader reads or writes in place. Managed arrays by default; the
/// fuzz driver's guard mode installs an allocator that places each copy flush against a PROT_NONE page, so a read one
/// byte past either end of what the reader was given faults instead of reading a neighbour's bytes.
/// </summary>
public static class FuzzMemory
{
    /// <summary>Allocates <c>length</c> writable bytes; null: arrays. Set by the guard mode only, while it runs.</summary>
    public static Func<int, Memory<byte>>? Allocator { get; set; }

    /// <summary>A writable copy of <paramref name="input"/>, from the allocator in force.</summary>
    public static Memory<byte> Copy(ReadOnlySpan<byte> input)
    {
        if (Allocator is not { } allocate)
        {
            return input.ToArray();
        }
        var memory = allocate(input.Length);
        input.CopyTo(memory.Span);
        return memory;
    }
}
