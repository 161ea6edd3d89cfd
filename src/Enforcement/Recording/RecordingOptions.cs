namespace Wire.Enforcement.Recording;

/// <summary>Where and how sessions are recorded (the <c>recording</c> config section).</summary>
public sealed class RecordingOptions
{
    /// <summary>The shortest accepted <see cref="Key"/>, in bytes: as long as the HMAC-SHA256 output.</summary>
    public const int MinKeyBytes = 32;

    /// <summary>The default <see cref="QueueCapacity"/>.</summary>
    public const int DefaultQueueCapacity = 16384;

    /// <summary>The largest accepted <see cref="QueueCapacity"/>.</summary>
    public const int MaxQueueCapacity = 1_000_000;

    /// <summary>
    /// The absolute directory that holds one <c>SESSION.jsonl</c> file per session; created if missing. Empty when the
    /// gateway keeps recordings in its shared PostgreSQL state (<c>recording.store</c>).
    /// </summary>
    public required string Directory { get; init; }

    /// <summary>The HMAC-SHA256 key that signs every record; at least <see cref="MinKeyBytes"/> bytes.</summary>
    public required ReadOnlyMemory<byte> Key { get; init; }

    /// <summary>What sessions do when recording fails or falls behind. Default <see cref="RecordingFailureMode.Deny"/>.</summary>
    public RecordingFailureMode OnFailure { get; init; } = RecordingFailureMode.Deny;

    /// <summary>
    /// How many records one recorder buffers before <see cref="ISessionRecorder.TryRecord"/> refuses and the recorder
    /// counts as falling behind. Default <see cref="DefaultQueueCapacity"/>.
    /// </summary>
    public int QueueCapacity { get; init; } = DefaultQueueCapacity;

    /// <summary>Throws when a value is out of range.</summary>
    /// <param name="directory">Whether recordings go to <see cref="Directory"/> (not to another store).</param>
    /// <exception cref="ArgumentException">The directory is not absolute, the key too short or the capacity out of range.</exception>
    internal void Validate(bool directory = true)
    {
        if (directory && (string.IsNullOrEmpty(Directory) || !Path.IsPathFullyQualified(Directory)))
        {
            throw new ArgumentException("The recording directory must be an absolute path.", nameof(Directory));
        }
        if (Key.Length < MinKeyBytes)
        {
            throw new ArgumentException($"The recording key must be at least {MinKeyBytes} bytes.", nameof(Key));
        }
        if (QueueCapacity is < 1 or > MaxQueueCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, $"Must be from 1 to {MaxQueueCapacity}.");
        }
    }
}
