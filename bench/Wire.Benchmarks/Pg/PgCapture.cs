using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Wire.Gateway.Demo;
using Wire.Postgres.Protocol;

namespace Wire.Benchmarks.Pg;

/// <summary>
/// Captures the exact bytes a real PostgreSQL server sends for a query: logs in over a raw socket
/// (trust auth as the bootstrap superuser), sends one Query, and records everything from the first
/// byte of the answer to its ReadyForQuery.
/// </summary>
internal static class PgCapture
{
    public static async Task<byte[]> CaptureAsync(LocalPostgresServer server, string database, string sql)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.Host, server.Port).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);

        var output = new ArrayBufferWriter<byte>();
        PgMessageWriter.WriteStartupMessage(output, [new("user", server.SuperUser), new("database", database)]);
        await stream.WriteAsync(output.WrittenMemory).ConfigureAwait(false);
        await ReadUntilReadyAsync(stream, null).ConfigureAwait(false);

        output.ResetWrittenCount();
        int length = 4 + PgMessageWriter.CStringLength(sql);
        var span = output.GetSpan(length + 1);
        span[0] = (byte)'Q';
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(1), length);
        System.Text.Encoding.UTF8.GetBytes(sql, span.Slice(5));
        span[length] = 0;
        output.Advance(length + 1);
        await stream.WriteAsync(output.WrittenMemory).ConfigureAwait(false);

        var captured = new MemoryStream();
        await ReadUntilReadyAsync(stream, captured).ConfigureAwait(false);
        return captured.ToArray();
    }

    private static async Task ReadUntilReadyAsync(Stream stream, MemoryStream? sink)
    {
        byte[] header = new byte[5];
        while (true)
        {
            await stream.ReadExactlyAsync(header).ConfigureAwait(false);
            int length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
            byte[] body = new byte[length - 4];
            await stream.ReadExactlyAsync(body).ConfigureAwait(false);
            if (header[0] == (byte)'E' && sink is null)
            {
                throw new InvalidOperationException("login failed: " + PgErrorFields.Parse(body).Message);
            }

            sink?.Write(header);
            sink?.Write(body);
            if (header[0] == (byte)'Z')
            {
                return;
            }
        }
    }
}
