namespace Wire.Enforcement.Recording;

/// <summary>A recording a <see cref="RecordingStore"/> keeps: its session id, its size and when it last changed.</summary>
internal sealed record StoredRecording(string Id, long Bytes, DateTimeOffset Modified);

/// <summary>
/// Where recordings and their attachments are kept, as named files (<c>{session}.jsonl</c>, <c>{session}.{attachment}</c>):
/// a directory (the default) or, for gateway instances that share state, a PostgreSQL table. A recorder writes each file
/// once, front to back, and never reopens it; readers (verification, replay, the admin API) read it the same way, so the
/// bytes, and with them the hash chain, are the same in every store.
/// </summary>
internal abstract class RecordingStore
{
    /// <summary>How logs, verification results and the command line name file <paramref name="fileName"/> of this store.</summary>
    public abstract string Locate(string fileName);

    /// <summary>
    /// Creates file <paramref name="fileName"/> for writing. <paramref name="attachment"/>: written in small pieces (the
    /// store buffers them); otherwise the recorder writes whole batches of lines.
    /// </summary>
    /// <exception cref="IOException">The file exists or cannot be created.</exception>
    public abstract Stream Create(string fileName, bool attachment);

    /// <summary>Opens file <paramref name="fileName"/> for reading from its start.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    public abstract Stream OpenRead(string fileName);

    /// <summary>Every recording (not the attachments), newest first.</summary>
    /// <exception cref="IOException">The store cannot be read.</exception>
    public abstract IReadOnlyList<StoredRecording> List();

    /// <summary>Readies the store before a recording is created (a directory store creates a missing directory).</summary>
    /// <exception cref="IOException">The store is unusable.</exception>
    public virtual void Prepare()
    {
    }
}

/// <summary>Recordings as files of one directory (<c>recording.directory</c>).</summary>
/// <param name="directory">The absolute directory.</param>
/// <param name="createRecording">Test seam: opens the stream of a new recording file from its full path.</param>
internal sealed class DirectoryRecordingStore(string directory, Func<string, Stream>? createRecording = null) : RecordingStore
{
    /// <summary>The directory.</summary>
    public string Directory { get; } = directory;

    /// <inheritdoc />
    public override string Locate(string fileName) => Path.Combine(Directory, fileName);

    /// <inheritdoc />
    public override Stream Create(string fileName, bool attachment)
    {
        string path = Locate(fileName);
        if (!attachment && createRecording is not null)
        {
            return createRecording(path);
        }
        // CreateNew: a recording is never appended to or overwritten. A recording gets no write buffer (the recorder writes
        // whole batches); an attachment gets one (it is written a terminal chunk at a time).
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = attachment ? 64 * 1024 : 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return new FileStream(path, options);
    }

    /// <inheritdoc />
    public override Stream OpenRead(string fileName) =>
        new FileStream(Locate(fileName), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan);

    /// <inheritdoc />
    public override IReadOnlyList<StoredRecording> List() =>
        System.IO.Directory.Exists(Directory)
            ? [.. new DirectoryInfo(Directory).EnumerateFiles("*" + RecordingFormat.Extension)
                .Select(f => new StoredRecording(Path.GetFileNameWithoutExtension(f.Name), f.Length, f.LastWriteTimeUtc))
                .OrderByDescending(r => r.Modified)]
            : [];

    /// <inheritdoc />
    public override void Prepare() => System.IO.Directory.CreateDirectory(Directory);
}
