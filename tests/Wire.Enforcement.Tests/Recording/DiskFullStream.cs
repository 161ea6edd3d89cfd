namespace Wire.Enforcement.Tests.Recording;

/// <summary>A recording stream over a real file that accepts <c>limit</c> bytes, writes part of the next write, then fails like a full disk.</summary>
internal sealed class DiskFullStream(string path, int limit) : Stream
{
    private readonly FileStream _file = new(path, FileMode.CreateNew, FileAccess.Write);
    private int _written;

    public int Failures { get; private set; }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var room = limit - _written;
        if (buffer.Length <= room)
        {
            await _file.WriteAsync(buffer, cancellationToken);
            _written += buffer.Length;
            return;
        }
        // A short write, as write(2) does when the disk fills mid-buffer: a third never ends on a line of a one- or two-line batch.
        await _file.WriteAsync(buffer[..(buffer.Length / 3)], cancellationToken);
        await _file.FlushAsync(cancellationToken);
        _written = limit;
        Failures++;
        throw new IOException("No space left on device");
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
