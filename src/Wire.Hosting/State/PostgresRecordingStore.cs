using Npgsql;
using NpgsqlTypes;
using Wire.Enforcement.Recording;

namespace Wire.Hosting.State;

/// <summary>
/// Recordings in the database gateway instances share (<c>recording.store: "postgres"</c>): each file is the rows of
/// <c>wire_recordings</c> with its name, in <c>part</c> order, each row one batch the recorder wrote. Read back in order
/// the rows give the bytes a directory store would hold, so verification, replay and the admin API work the same, and a
/// row removed, changed or moved shows as a broken chain. Names are <c>postgres:{file}</c> in logs and reports.
/// </summary>
internal sealed class PostgresRecordingStore(NpgsqlDataSource dataSource) : RecordingStore
{
    /// <summary>What names a recording of this store on the command line: <c>postgres:{session}</c>, or <c>postgres:</c> for all.</summary>
    public const string Prefix = "postgres:";

    /// <summary>The table, for <see cref="PostgresState"/>'s schema.</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS wire_recordings (
            name text NOT NULL,
            part integer NOT NULL,
            data bytea NOT NULL,
            written timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (name, part));
        """;

    // An attachment is written a terminal chunk at a time: rows of about this size.
    private const int AttachmentPartBytes = 256 * 1024;

    /// <inheritdoc />
    public override string Locate(string fileName) => Prefix + fileName;

    /// <inheritdoc />
    public override Stream Create(string fileName, bool attachment) => new PartWriter(dataSource, fileName, attachment);

    /// <inheritdoc />
    public override Stream OpenRead(string fileName)
    {
        var reader = new PartReader(dataSource, fileName);
        if (!reader.Open())
        {
            reader.Dispose();
            throw new FileNotFoundException($"{Locate(fileName)} does not exist.", Locate(fileName));
        }
        return reader;
    }

    /// <inheritdoc />
    public override IReadOnlyList<StoredRecording> List()
    {
        try
        {
            using var command = dataSource.CreateCommand("""
                SELECT name, sum(octet_length(data)), max(written) FROM wire_recordings
                WHERE name LIKE '%.jsonl' GROUP BY name ORDER BY max(written) DESC, name
                """);
            using var reader = command.ExecuteReader();
            var recordings = new List<StoredRecording>();
            while (reader.Read())
            {
                recordings.Add(new StoredRecording(reader.GetString(0)[..^RecordingFormat.Extension.Length], reader.GetInt64(1),
                    reader.GetFieldValue<DateTimeOffset>(2)));
            }
            return recordings;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return []; // no gateway instance has started on this database yet
        }
        catch (NpgsqlException e)
        {
            throw new IOException($"the recordings cannot be listed: {e.Message}", e);
        }
    }

    /// <summary>Appends rows; a recording's batches arrive through <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    private sealed class PartWriter(NpgsqlDataSource dataSource, string name, bool buffered) : Stream
    {
        private readonly MemoryStream? _pending = buffered ? new MemoryStream() : null;
        private int _part;
        private bool _disposed;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => !_disposed;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_pending is null)
            {
                Insert(buffer.ToArray());
                return;
            }
            _pending.Write(buffer);
            if (_pending.Length >= AttachmentPartBytes)
            {
                Flush();
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_pending is not null)
            {
                Write(buffer.Span);
                return;
            }
            await using var command = InsertCommand(buffer);
            await RunAsync(command, cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
            if (_pending is { Length: > 0 })
            {
                Insert(_pending.ToArray());
                _pending.SetLength(0);
            }
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Flush();
            return Task.CompletedTask;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                try
                {
                    Flush();
                    if (_part == 0)
                    {
                        Insert([]); // an empty file still exists, so that its hash can be checked
                    }
                }
                finally
                {
                    _disposed = true;
                    _pending?.Dispose();
                }
            }
            base.Dispose(disposing);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private void Insert(byte[] data)
        {
            using var command = InsertCommand(data);
            try
            {
                command.ExecuteNonQuery();
                _part++;
            }
            catch (NpgsqlException e)
            {
                throw Failed(e);
            }
        }

        private async Task RunAsync(NpgsqlCommand command, CancellationToken ct)
        {
            try
            {
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                _part++;
            }
            catch (NpgsqlException e)
            {
                throw Failed(e);
            }
        }

        private NpgsqlCommand InsertCommand(ReadOnlyMemory<byte> data)
        {
            var command = dataSource.CreateCommand("INSERT INTO wire_recordings (name, part, data) VALUES ($1, $2, $3)");
            command.Parameters.AddWithValue(name);
            command.Parameters.AddWithValue(_part);
            command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = data });
            return command;
        }

        // The recorder and the attachment treat an IOException as "this recording failed" (fail closed).
        private IOException Failed(NpgsqlException e) => e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation }
            ? new IOException($"{Prefix}{name} already exists", e)
            : new IOException($"{Prefix}{name} could not be written to the shared state: {e.Message}", e);
    }

    /// <summary>Reads a file's rows in order over one connection, a row at a time.</summary>
    private sealed class PartReader(NpgsqlDataSource dataSource, string name) : Stream
    {
        private NpgsqlConnection? _connection;
        private NpgsqlCommand? _command;
        private NpgsqlDataReader? _rows;
        private Stream? _part;

        /// <summary>Starts reading; false when the file has no rows.</summary>
        public bool Open()
        {
            try
            {
                _connection = dataSource.OpenConnection();
                _command = new NpgsqlCommand("SELECT data FROM wire_recordings WHERE name = $1 ORDER BY part", _connection);
                _command.Parameters.AddWithValue(name);
                _rows = _command.ExecuteReader(System.Data.CommandBehavior.SequentialAccess);
                if (!_rows.Read())
                {
                    return false;
                }
                _part = _rows.GetStream(0);
                return true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                return false;
            }
            catch (NpgsqlException e)
            {
                throw new IOException($"{Prefix}{name} cannot be read: {e.Message}", e);
            }
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                while (_part is not null)
                {
                    int read = _part.Read(buffer);
                    if (read > 0 || buffer.IsEmpty)
                    {
                        return read;
                    }
                    _part.Dispose();
                    _part = _rows!.Read() ? _rows.GetStream(0) : null;
                }
                return 0;
            }
            catch (NpgsqlException e)
            {
                throw new IOException($"{Prefix}{name} cannot be read: {e.Message}", e);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _part?.Dispose();
                _rows?.Dispose();
                _command?.Dispose();
                _connection?.Dispose();
            }
            base.Dispose(disposing);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
