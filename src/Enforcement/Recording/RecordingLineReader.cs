using System.Buffers;

namespace Wire.Enforcement.Recording;

/// <summary>How a line read by <see cref="RecordingLineReader"/> ended.</summary>
internal enum RecordingLineStatus
{
    /// <summary>Ended by a newline.</summary>
    Complete,

    /// <summary>The file ended before a newline: a partial (truncated) line.</summary>
    Unterminated,

    /// <summary>Longer than <see cref="RecordingFormat.MaxLineBytes"/>; its bytes were skipped, not buffered.</summary>
    TooLong,
}

/// <summary>
/// Reads a recording line by line as bytes, without decoding, because the hash chain and MACs cover exact bytes.
/// A line is buffered whole up to <see cref="RecordingFormat.MaxLineBytes"/>; longer lines are skipped.
/// </summary>
internal sealed class RecordingLineReader : IDisposable
{
    private const int InitialBufferBytes = 64 * 1024;

    private readonly Stream _stream;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
    private int _start;
    private int _end;
    private bool _endOfFile;
    private bool _skipping;

    public RecordingLineReader(Stream stream) => _stream = stream;

    /// <summary>Opens <paramref name="path"/> for sequential reading.</summary>
    public static RecordingLineReader Open(string path) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan));

    /// <summary>The 1-based number of the last line returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>
    /// The next line without its newline, valid until the next call; false at the end of the file. A file that ends with a
    /// newline has no empty last line.
    /// </summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line, out RecordingLineStatus status)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = _buffer.AsSpan(_start, newline);
                _start += newline + 1;
                status = _skipping ? RecordingLineStatus.TooLong : RecordingLineStatus.Complete;
                _skipping = false;
                LineNumber++;
                return true;
            }
            if (_endOfFile)
            {
                if (_end > _start || _skipping)
                {
                    line = _buffer.AsSpan(_start, _end - _start);
                    status = _skipping ? RecordingLineStatus.TooLong : RecordingLineStatus.Unterminated;
                    _start = _end;
                    _skipping = false;
                    LineNumber++;
                    return true;
                }
                line = default;
                status = default;
                return false;
            }
            Fill();
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        var buffer = _buffer;
        _buffer = [];
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private void Fill()
    {
        var pending = _end - _start;
        if (pending > RecordingFormat.MaxLineBytes)
        {
            // Over the limit and still no newline: drop what is buffered and keep looking for the line's end.
            _skipping = true;
            _start = _end = 0;
            pending = 0;
        }
        else if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _start = 0;
            _end = pending;
        }
        if (_end == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, RecordingFormat.MaxLineBytes + 2));
            _buffer.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _endOfFile = true;
        }
        _end += read;
    }
}
