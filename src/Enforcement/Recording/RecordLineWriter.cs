using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>
/// Turns events into signed, chained lines for one recording: the envelope, the event's fields, <c>prev</c> (SHA-256
/// of the previous line) and <c>mac</c> (HMAC-SHA256 of everything before <c>,"mac":"</c>). Not thread-safe: one
/// writer loop owns it.
/// </summary>
internal sealed class RecordLineWriter : IDisposable
{
    private readonly JsonEncodedText _sessionId; // encoded once, written in every line
    private readonly IncrementalHash _hmac;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256); // reused: no context per line
    private readonly ArrayBufferWriter<byte> _line = new(1024);
    private readonly Utf8JsonWriter _json;
    private readonly byte[] _previousHash = new byte[SHA256.HashSizeInBytes];

    public RecordLineWriter(string sessionId, ReadOnlySpan<byte> key)
    {
        _sessionId = JsonEncodedText.Encode(sessionId, RecordingFormat.WriterOptions.Encoder);
        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        _json = new Utf8JsonWriter(_line, RecordingFormat.WriterOptions);
    }

    /// <summary>The number of lines written so far, which is also the last line's <c>seq</c>.</summary>
    public long Records { get; private set; }

    /// <summary>Appends <paramref name="recordEvent"/> as one line, with its newline, to <paramref name="output"/>.</summary>
    /// <exception cref="InvalidOperationException">The event's fields are not a valid JSON object body.</exception>
    public void Append(RecordEvent recordEvent, DateTimeOffset time, IBufferWriter<byte> output)
    {
        var seq = Records + 1;
        Serialize(recordEvent, seq, time);
        if (_line.WrittenCount > RecordingFormat.MaxLineBytes - RecordingFormat.MacSuffixLength)
        {
            Serialize(new RecordOversizedEvent(recordEvent.Type, _line.WrittenCount + RecordingFormat.MacSuffixLength), seq, time);
        }

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        _hmac.AppendData(_line.WrittenSpan);
        _hmac.GetHashAndReset(mac);
        _line.Write(RecordingFormat.MacSeparator);
        RecordingFormat.WriteHex(mac, _line.GetSpan(RecordingFormat.HashHexLength));
        _line.Advance(RecordingFormat.HashHexLength);
        _line.Write(RecordingFormat.LineEnd);

        _sha256.AppendData(_line.WrittenSpan);
        _sha256.GetHashAndReset(_previousHash);
        output.Write(_line.WrittenSpan);
        output.Write("\n"u8);
        Records = seq;
    }

    public void Dispose()
    {
        _json.Dispose();
        _hmac.Dispose();
        _sha256.Dispose();
    }

    private void Serialize(RecordEvent recordEvent, long seq, DateTimeOffset time)
    {
        var type = recordEvent.Type;
        if (string.IsNullOrEmpty(type))
        {
            throw new InvalidOperationException($"{recordEvent.GetType().Name} has no type.");
        }
        _line.ResetWrittenCount();
        _json.Reset(_line);
        _json.WriteStartObject();
        _json.WriteNumber("v"u8, RecordingFormat.Version);
        _json.WriteNumber("seq"u8, seq);
        Span<char> timestamp = stackalloc char[32];
        _json.WriteString("ts"u8, timestamp[..RecordingFormat.FormatTimestamp(time, timestamp)]);
        _json.WriteString("session"u8, _sessionId);
        _json.WriteString("type"u8, type);
        recordEvent.WriteFields(_json);
        if (_json.CurrentDepth != 1)
        {
            throw new InvalidOperationException($"{recordEvent.GetType().Name} left the record object unbalanced.");
        }
        Span<byte> previous = stackalloc byte[RecordingFormat.HashHexLength];
        RecordingFormat.WriteHex(_previousHash, previous);
        _json.WriteString("prev"u8, previous);
        // The object stays open: the MAC goes after "prev" and closes it, written by hand so its byte range is exact.
        _json.Flush();
    }
}
