using System.Globalization;
using System.Security.Cryptography;

namespace Wire.Enforcement.Recording;

/// <summary>What every protocol's session does with its recording at the start and the end.</summary>
internal static class RecordingSessions
{
    /// <summary>A new recording id: unique across restarts and sortable by start time (<c>20261123T021500-a1b2c3d4e5f6</c>).</summary>
    public static string NewId() =>
        string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");

    /// <summary>
    /// Writes <c>session.end</c> and closes the recording, waiting at most 10 s for the disk; a stalled disk leaves a
    /// recording that does not verify as complete. Never throws for recording failures.
    /// </summary>
    /// <param name="recorder">The recorder; null does nothing.</param>
    /// <param name="reason">Why the session ended.</param>
    public static async Task CompleteAsync(ISessionRecorder? recorder, string reason)
    {
        if (recorder is null)
        {
            return;
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await recorder.CompleteAsync(reason, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A stalled disk: the writer finishes on its own; the file will not verify as complete.
        }
        await recorder.DisposeAsync().ConfigureAwait(false);
    }
}
