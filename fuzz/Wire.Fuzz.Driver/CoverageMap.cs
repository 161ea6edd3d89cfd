namespace Wire.Fuzz.Driver;

/// <summary>
/// Instrumented assemblies count branches into SharpFuzz's map, which only afl-fuzz provides. The modes that run
/// without it point the map at a scratch buffer, so the driver also works from the instrumented copy of its output.
/// </summary>
internal static unsafe class CoverageMap
{
    private const int MapSize = 1 << 16;

    public static void Attach()
    {
        if (SharpFuzz.Common.Trace.SharedMem == null)
        {
            SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(MapSize);
        }
    }
}
