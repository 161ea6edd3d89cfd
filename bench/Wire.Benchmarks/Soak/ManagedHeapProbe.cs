using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Wire.Benchmarks.Soak;

/// <summary>
/// The live managed heap of another .NET process, through its diagnostic port (EventPipe; the client library comes with
/// BenchmarkDotNet): enabling the runtime's <c>GCHeapCollect</c> keyword makes it run a full blocking GC, as
/// dotnet-gcdump does, and the bytes that survived that GC (<c>GCHeapStats</c>' promoted sizes of every generation) are
/// what is reachable. The working set alone cannot tell a leak from garbage a gen2 collection has not reached yet.
/// </summary>
internal static class ManagedHeapProbe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Forces a full GC in <paramref name="pid"/> and returns the bytes that survived it; null when it did not answer.</summary>
    public static async Task<long?> LiveBytesAfterFullGcAsync(int pid)
    {
        const long GCHeapCollect = 0x800000;
        const long Keywords = (long)ClrTraceEventParser.Keywords.GC | GCHeapCollect;
        EventPipeSession session;
        try
        {
            session = await new DiagnosticsClient(pid).StartEventPipeSessionAsync(
                [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, Keywords)],
                requestRundown: false, circularBufferMB: 16, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ServerNotAvailableException or UnsupportedCommandException or TimeoutException or IOException)
        {
            Console.Error.WriteLine($"soak: the managed heap of {pid} cannot be read: {e.Message}");
            return null;
        }

        using (session)
        {
            using var source = new EventPipeEventSource(session.EventStream);
            var live = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            bool induced = false;
            source.Clr.GCStart += e => induced = e.Depth == 2 && e.Reason is GCReason.Induced or GCReason.InducedNotForced;
            source.Clr.GCHeapStats += e =>
            {
                if (induced)
                {
                    live.TrySetResult(
                        e.TotalPromotedSize0 + e.TotalPromotedSize1 + e.TotalPromotedSize2 + e.TotalPromotedSize3 + e.TotalPromotedSize4);
                }
            };
            var processing = Task.Run(source.Process);

            // Processing ends only with the stream, so stop the session as soon as the answer is in.
            await Task.WhenAny(live.Task, processing, Task.Delay(Timeout)).ConfigureAwait(false);
            try
            {
                await session.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ServerNotAvailableException or TimeoutException or IOException)
            {
                // The process went away or the session already ended; what was read stands.
            }
            await processing.ConfigureAwait(false);
            return live.Task.IsCompletedSuccessfully ? live.Task.Result : null;
        }
    }
}
