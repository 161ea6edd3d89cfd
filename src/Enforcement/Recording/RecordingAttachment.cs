using System.Security.Cryptography;

namespace Wire.Enforcement.Recording;

/// <summary>
/// A file that belongs to a recording (an SSH terminal's asciicast), written next to it as
/// <c>{sessionId}.{name}</c>. Its SHA-256 goes into the recording's <c>session.end</c>, so <c>wire verify</c> notices when
/// it is changed. One writer at a time; the recorder completes it when the session ends.
/// </summary>
public sealed class RecordingAttachment
{
    private readonly Stream _stream;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Action<Exception> _failed;
    private string? _sha256;
    private bool _broken;

    internal RecordingAttachment(string name, Stream stream, Action<Exception> failed)
    {
        Name = name;
        _stream = stream;
        _failed = failed;
    }

    /// <summary>The name after the session id: <c>{sessionId}.{Name}</c>.</summary>
    public string Name { get; }

    /// <summary>Whether every write so far succeeded.</summary>
    public bool IsHealthy => !_broken;

    /// <summary>
    /// Appends <paramref name="data"/> (already masked). False when the attachment failed or was completed; a failure
    /// also fails the recording (it then never verifies as complete).
    /// </summary>
    public bool Write(ReadOnlySpan<byte> data)
    {
        if (_broken || _sha256 is not null)
        {
            return false;
        }
        try
        {
            _stream.Write(data);
            _hash.AppendData(data);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Break(e);
            return false;
        }
    }

    /// <summary>Writes what is buffered and closes the file; the lower-case hex SHA-256 of its bytes, or null when it failed.</summary>
    internal string? Complete()
    {
        if (_sha256 is not null || _broken)
        {
            return _sha256;
        }
        try
        {
            _stream.Flush();
            _stream.Dispose();
            _sha256 = Convert.ToHexStringLower(_hash.GetHashAndReset());
            return _sha256;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Break(e);
            return null;
        }
        finally
        {
            _hash.Dispose();
        }
    }

    private void Break(Exception e)
    {
        _broken = true;
        try
        {
            _stream.Dispose();
        }
        catch (IOException)
        {
            // Already failing.
        }
        _failed(e);
    }

    /// <summary>Whether <paramref name="name"/> may name an attachment: 1 to 64 of <c>[a-z0-9.-]</c>, starting with a letter or digit.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 64 } && char.IsAsciiLetterLower(name[0]) | char.IsAsciiDigit(name[0])
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-') && !name.Contains("..", StringComparison.Ordinal);
}
