using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Wire.Enforcement.Recording;

namespace Wire.Ssh.Enforcement;

/// <summary>
/// A terminal session as an asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then one
/// <c>[time, "o", text]</c> line per piece of output (already masked) and <c>[time, "r", "COLSxROWS"]</c> per window
/// change. Output is decoded as UTF-8 across pieces, so a character split between two packets is written whole in the
/// second event; bytes that are not UTF-8 become U+FFFD, as a terminal would show them.
/// </summary>
internal sealed class AsciicastWriter
{
    private readonly RecordingAttachment _file;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private readonly ArrayBufferWriter<byte> _line = new(1024);
    private readonly Utf8JsonWriter _json;
    private char[] _chars = new char[1024];

    public AsciicastWriter(RecordingAttachment file, int columns, int rows, string? term, TimeProvider time)
    {
        _file = file;
        _time = time;
        _started = time.GetTimestamp();
        _json = new Utf8JsonWriter(_line, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        _json.WriteStartObject();
        _json.WriteNumber("version"u8, 2);
        _json.WriteNumber("width"u8, Math.Max(1, columns));
        _json.WriteNumber("height"u8, Math.Max(1, rows));
        _json.WriteNumber("timestamp"u8, time.GetUtcNow().ToUnixTimeSeconds());
        if (term is { Length: > 0 })
        {
            _json.WriteStartObject("env"u8);
            _json.WriteString("TERM"u8, term);
            _json.WriteEndObject();
        }
        _json.WriteEndObject();
        EndLine();
    }

    /// <summary>The file's name in the recording.</summary>
    public string Name => _file.Name;

    /// <summary>Output the client was sent (stdout or stderr: a terminal shows both).</summary>
    public void Output(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        if (_chars.Length < data.Length + 4)
        {
            _chars = new char[Math.Max(data.Length + 4, _chars.Length * 2)];
        }
        int count = _decoder.GetChars(data, _chars, flush: false);
        if (count == 0)
        {
            // Only the start of a character: it goes out with the next piece.
            return;
        }
        Event("o"u8, _chars.AsSpan(0, count));
    }

    /// <summary>The client's terminal changed size.</summary>
    public void Resize(int columns, int rows) =>
        Event("r"u8, string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, columns)}x{Math.Max(1, rows)}"));

    private void Event(ReadOnlySpan<byte> code, ReadOnlySpan<char> text)
    {
        double seconds = _time.GetElapsedTime(_started).TotalSeconds;
        _json.WriteStartArray();
        _json.WriteNumberValue(Math.Round(seconds, 6));
        _json.WriteStringValue(code);
        _json.WriteStringValue(text);
        _json.WriteEndArray();
        EndLine();
    }

    private void EndLine()
    {
        _json.Flush();
        _json.Reset();
        _line.Write("\n"u8);
        _file.Write(_line.WrittenSpan);
        _line.ResetWrittenCount();
    }
}
