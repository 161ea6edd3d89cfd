namespace Wire.Enforcement.Tests.Recording;

/// <summary>A recording stream over a real file whose writes wait until the test opens the gate.</summary>
internal sealed class StallingStream(string path) : Stream
{
    private readonly FileStream _file = new(path, FileMode.CreateNew, FileAccess.Write);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _writes;

    /// <summary>Set once the writer is blocked in its first write.</summary>
    public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Writes => Volatile.Read(ref _writes);

    public void Release() => _gate.TrySetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Stalled.TrySetResult();
        await _gate.Task;
        await _file.WriteAsync(buffer, cancellationToken);
        Interlocked.Increment(ref _writes);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => _file.FlushAsync(cancellationToken);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => _file.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }
        base.Dispose(disposing);
    }
}
