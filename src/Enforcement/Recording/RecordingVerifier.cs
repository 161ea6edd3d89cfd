using System.Security.Cryptography;
using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>
/// Checks recordings against their key: every line's MAC, the <c>seq</c> order, the <c>prev</c> hash chain and the
/// final <c>session.end</c> count (docs/recording.md, "Verification"). Reports the first bad record of each file.
/// Types it does not know verify like any other record.
/// </summary>
public static class RecordingVerifier
{
    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 };

    /// <summary>
    /// Verifies the recording at <paramref name="path"/>, or every <c>*.jsonl</c> file under it (recursively, in ordinal
    /// order of their paths) when it is a directory.
    /// </summary>
    /// <param name="path">A recording file or a directory of recordings.</param>
    /// <param name="key">The <c>recording.key</c> the recordings were signed with.</param>
    /// <returns>One result per file; empty for a directory without recordings.</returns>
    /// <exception cref="FileNotFoundException"><paramref name="path"/> is neither a file nor a directory.</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static IReadOnlyList<RecordingVerification> Verify(string path, ReadOnlySpan<byte> key)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            var options = new EnumerationOptions
            {
                RecurseSubdirectories = true,
                MatchCasing = MatchCasing.CaseSensitive,
                AttributesToSkip = 0,
                IgnoreInaccessible = false,
            };
            var files = Directory.EnumerateFiles(path, "*" + RecordingFormat.Extension, options).Order(StringComparer.Ordinal).ToList();
            var results = new List<RecordingVerification>(files.Count);
            foreach (var file in files)
            {
                results.Add(VerifyFile(file, key));
            }
            return results;
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} does not exist.", path);
        }
        return [VerifyFile(path, key)];
    }

    /// <summary>Verifies one recording file.</summary>
    /// <param name="path">The recording.</param>
    /// <param name="key">The <c>recording.key</c> it was signed with.</param>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static RecordingVerification VerifyFile(string path, ReadOnlySpan<byte> key)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string directory = Path.GetDirectoryName(path) ?? ".";
        using var reader = RecordingLineReader.Open(path);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        return Verify(path, reader, hmac, attachment => File.OpenRead(Path.Combine(directory, attachment)));
    }

    /// <summary>Verifies recording <paramref name="id"/> of <paramref name="store"/>, its attachments read from the same store.</summary>
    /// <exception cref="FileNotFoundException">The store has no such recording.</exception>
    /// <exception cref="IOException">The store cannot be read.</exception>
    internal static RecordingVerification Verify(RecordingStore store, string id, ReadOnlySpan<byte> key)
    {
        string fileName = id + RecordingFormat.Extension;
        using var reader = new RecordingLineReader(store.OpenRead(fileName));
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        return Verify(store.Locate(fileName), reader, hmac, store.OpenRead);
    }

    private static RecordingVerification Verify(string path, RecordingLineReader reader, IncrementalHash hmac, Func<string, Stream> openAttachment)
    {
        Span<byte> previousHash = stackalloc byte[SHA256.HashSizeInBytes];
        previousHash.Clear();
        Span<byte> previousHex = stackalloc byte[RecordingFormat.HashHexLength];
        string? session = null;
        long records = 0;
        long lost = 0;
        var ended = false;

        while (reader.TryReadLine(out var line, out var status))
        {
            var number = reader.LineNumber;
            if (ended)
            {
                return Bad(path, records, lost, number, RecordingDefect.Appended, "a line follows session.end");
            }
            if (status == RecordingLineStatus.Unterminated)
            {
                return Bad(path, records, lost, number, RecordingDefect.Truncated, "the last line is incomplete");
            }
            if (status == RecordingLineStatus.TooLong)
            {
                return Bad(path, records, lost, number, RecordingDefect.Edited, "the line is longer than a recorder writes");
            }
            if (!RecordingFormat.TrySplitMac(line, out var signed, out var macHex))
            {
                return Bad(path, records, lost, number, RecordingDefect.Edited, "the line does not end with a MAC");
            }
            if (!MacMatches(hmac, signed, macHex))
            {
                return number == 1 && IsWrongKey(reader, hmac)
                    ? Bad(path, records, lost, number, RecordingDefect.WrongKey, "no record verifies under this key")
                    : Bad(path, records, lost, number, RecordingDefect.Edited, "the MAC does not match");
            }

            RecordingFormat.WriteHex(previousHash, previousHex);
            if (!TryParse(line, previousHex, out var record))
            {
                return Bad(path, records, lost, number, RecordingDefect.Edited, "not a valid version 1 record");
            }
            session ??= record.Session;
            if (!string.Equals(record.Session, session, StringComparison.Ordinal))
            {
                return Bad(path, records, lost, number, RecordingDefect.Edited, "the session id differs from the first record's");
            }
            var expected = records + 1;
            if (record.Seq != expected)
            {
                var defect = record.Seq < expected || AppearsLater(reader, hmac, expected) ? RecordingDefect.Reordered : RecordingDefect.Removed;
                return Bad(path, records, lost, number, defect, $"seq {record.Seq} where {expected} was expected");
            }
            if (!record.PrevMatches)
            {
                return Bad(path, records, lost, number, RecordingDefect.Reordered, "prev is not the hash of the line before");
            }

            SHA256.HashData(line, previousHash);
            records = expected;
            if (record.Type == RecordsLostEvent.TypeName)
            {
                lost += record.Count;
            }
            else if (record.Type == SessionEndEvent.TypeName)
            {
                if (record.Records != records)
                {
                    return Bad(path, records - 1, lost, number, RecordingDefect.Truncated,
                        $"session.end counts {record.Records} records, the file has {records}");
                }
                if (AttachmentDefect(session!, record.Attachments, openAttachment) is { } attachmentDefect)
                {
                    return Bad(path, records, lost, number, RecordingDefect.Edited, attachmentDefect);
                }
                ended = true;
            }
        }

        return ended
            ? new RecordingVerification(path, records, lost, 0, RecordingDefect.None, null)
            : Bad(path, records, lost, records + 1, RecordingDefect.Truncated, records == 0 ? "the file is empty" : "no session.end record");
    }

    private static RecordingVerification Bad(string path, long records, long lost, long number, RecordingDefect defect, string detail) =>
        new(path, records, lost, number, defect, detail);

    private static bool MacMatches(IncrementalHash hmac, ReadOnlySpan<byte> signed, ReadOnlySpan<byte> macHex)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        hmac.AppendData(signed);
        hmac.GetHashAndReset(mac);
        Span<byte> hex = stackalloc byte[RecordingFormat.HashHexLength];
        RecordingFormat.WriteHex(mac, hex);
        return CryptographicOperations.FixedTimeEquals(hex, macHex);
    }

    // The first line fails its MAC and no other line verifies either: signed with another key. (A file whose every
    // line was edited looks the same; with the right key at hand, that distinction does not matter.)
    private static bool IsWrongKey(RecordingLineReader reader, IncrementalHash hmac)
    {
        while (reader.TryReadLine(out var line, out var status))
        {
            if (status == RecordingLineStatus.Complete && RecordingFormat.TrySplitMac(line, out var signed, out var macHex)
                && MacMatches(hmac, signed, macHex))
            {
                return false;
            }
        }
        return true;
    }

    // A skipped seq found further on means the records were moved, not removed.
    private static bool AppearsLater(RecordingLineReader reader, IncrementalHash hmac, long seq)
    {
        while (reader.TryReadLine(out var line, out var status))
        {
            if (status == RecordingLineStatus.Complete && RecordingFormat.TrySplitMac(line, out var signed, out var macHex)
                && MacMatches(hmac, signed, macHex) && TryParse(line, default, out var record) && record.Seq == seq)
            {
                return true;
            }
        }
        return false;
    }

    private static bool TryParse(ReadOnlySpan<byte> line, ReadOnlySpan<byte> expectedPrev, out Envelope record)
    {
        record = default;
        var reader = new Utf8JsonReader(line, ReaderOptions);
        var seen = Fields.None;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = FieldOf(ref reader);
                if ((seen & field & Fields.Envelope) != 0)
                {
                    return false;
                }
                seen |= field;
                reader.Read();
                if (!ReadField(ref reader, field, expectedPrev, ref record))
                {
                    return false;
                }
                reader.Skip();
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return false;
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false;
        }
        return (seen & Fields.Envelope) == Fields.Envelope;
    }

    private static Fields FieldOf(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("v"u8) ? Fields.V
        : reader.ValueTextEquals("seq"u8) ? Fields.Seq
        : reader.ValueTextEquals("ts"u8) ? Fields.Ts
        : reader.ValueTextEquals("session"u8) ? Fields.Session
        : reader.ValueTextEquals("type"u8) ? Fields.Type
        : reader.ValueTextEquals("prev"u8) ? Fields.Prev
        : reader.ValueTextEquals("mac"u8) ? Fields.Mac
        : reader.ValueTextEquals("records"u8) ? Fields.Records
        : reader.ValueTextEquals("count"u8) ? Fields.Count
        : reader.ValueTextEquals("attachments"u8) ? Fields.Attachments
        : Fields.None;

    private static bool ReadField(ref Utf8JsonReader reader, Fields field, ReadOnlySpan<byte> expectedPrev, ref Envelope record)
    {
        switch (field)
        {
            case Fields.V:
                return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var version) && version == RecordingFormat.Version;
            case Fields.Seq:
                return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out record.Seq) && record.Seq >= 1;
            case Fields.Ts:
                return reader.TokenType == JsonTokenType.String && RecordingFormat.TryParseTimestamp(reader.GetString(), out _);
            case Fields.Session:
                record.Session = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                return RecordingFormat.IsValidSessionId(record.Session);
            case Fields.Type:
                record.Type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                return !string.IsNullOrEmpty(record.Type);
            case Fields.Prev:
                if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.ValueSpan.Length != RecordingFormat.HashHexLength)
                {
                    return false;
                }
                record.PrevMatches = reader.ValueSpan.SequenceEqual(expectedPrev);
                return true;
            case Fields.Mac:
                return reader.TokenType == JsonTokenType.String;
            case Fields.Records:
                // Event fields: only meaningful for their own types, so another type may use the names freely.
                record.Records = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var count) ? count : -1;
                return true;
            case Fields.Count:
                record.Count = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var lost) && lost > 0 ? lost : 0;
                return true;
            case Fields.Attachments:
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return true;
                }
                record.Attachments = [];
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    string name = reader.GetString()!;
                    reader.Read();
                    record.Attachments.Add((name, reader.TokenType == JsonTokenType.String ? reader.GetString()! : ""));
                }
                return true;
            default:
                return true;
        }
    }

    [Flags]
    private enum Fields
    {
        None = 0,
        V = 1,
        Seq = 2,
        Ts = 4,
        Session = 8,
        Type = 16,
        Prev = 32,
        Mac = 64,
        Records = 128,
        Count = 256,
        Attachments = 512,
        Envelope = V | Seq | Ts | Session | Type | Prev | Mac,
    }

    private struct Envelope
    {
        public long Seq;
        public string? Session;
        public string? Type;
        public bool PrevMatches;
        public long Records;
        public long Count;
        public List<(string Name, string Sha256)>? Attachments;
    }

    /// <summary>What is wrong with the files session.end lists next to the recording (<c>{session}.{name}</c>); null when nothing.</summary>
    private static string? AttachmentDefect(string session, List<(string Name, string Sha256)>? attachments, Func<string, Stream> openAttachment)
    {
        foreach (var (name, sha256) in attachments ?? [])
        {
            if (!RecordingAttachment.IsValidName(name))
            {
                return $"session.end names an attachment '{name}' a recorder would not write";
            }
            byte[] actual;
            try
            {
                using var stream = openAttachment(session + "." + name);
                actual = SHA256.HashData(stream);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return $"attachment {session}.{name} cannot be read: {e.Message}";
            }
            if (!string.Equals(Convert.ToHexStringLower(actual), sha256, StringComparison.Ordinal))
            {
                return $"attachment {session}.{name} does not match the SHA-256 in session.end";
            }
        }
        return null;
    }
}
