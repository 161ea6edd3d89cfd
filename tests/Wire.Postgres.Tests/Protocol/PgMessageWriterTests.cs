using Wire.Testing;
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Wire.Postgres.Protocol;
using static Wire.Postgres.Tests.Protocol.PgTestFrames;

namespace Wire.Postgres.Tests.Protocol;

public sealed class PgMessageWriterTests
{
    private const int MaxLength = 1 << 20;

    [Theory]
    [InlineData("FATAL", "28P01", "password authentication failed for user \"alice\"")]
    [InlineData("ERROR", "42501", "permission denied: contraseña inválida ✓ 🚫")]
    [InlineData("ERROR", "", "")]
    public void ErrorResponse_round_trips_through_PgErrorFields(string severity, string sqlState, string message)
    {
        var body = ReadSingleFrame(w => PgMessageWriter.WriteErrorResponse(w, severity, sqlState, message), (byte)'E');
        Assert.Equal(new PgErrorFields(severity, sqlState, message), PgErrorFields.Parse(body));

        // S, V, C, M, then the terminating zero.
        byte[] expected = Concat(
            [(byte)'S'], CString(severity), [(byte)'V'], CString(severity),
            [(byte)'C'], CString(sqlState), [(byte)'M'], CString(message), [0]);
        Assert.Equal(expected, body);
    }

    [Fact]
    public void NoticeResponse_round_trips_through_PgErrorFields()
    {
        var body = ReadSingleFrame(w => PgMessageWriter.WriteNoticeResponse(w, "WARNING", "01000", "masked column ✓"), (byte)'N');
        Assert.Equal(new PgErrorFields("WARNING", "01000", "masked column ✓"), PgErrorFields.Parse(body));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    public void AuthenticationRequest_round_trips(int code)
    {
        var body = ReadSingleFrame(w => PgMessageWriter.WriteAuthenticationRequest(w, code), (byte)'R');
        Assert.Equal(Int32(code), body);
    }

    [Fact]
    public void BackendKeyData_round_trips()
    {
        var body = ReadSingleFrame(w => PgMessageWriter.WriteBackendKeyData(w, 4242, unchecked((int)0xCAFEBABE)), (byte)'K');
        Assert.Equal(Concat(Int32(4242), Int32(unchecked((int)0xCAFEBABE))), body);
    }

    [Theory]
    [InlineData('I')]
    [InlineData('T')]
    [InlineData('E')]
    public void ReadyForQuery_round_trips(char status)
    {
        var body = ReadSingleFrame(w => PgMessageWriter.WriteReadyForQuery(w, (byte)status), (byte)'Z');
        Assert.Equal([(byte)status], body);
    }

    [Fact]
    public void ReadyForQuery_is_six_bytes()
    {
        var writer = new ArrayBufferWriter<byte>();
        PgMessageWriter.WriteReadyForQuery(writer, (byte)'I');
        Assert.Equal([(byte)'Z', 0, 0, 0, 5, (byte)'I'], writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void NegotiateProtocolVersion_round_trips()
    {
        string[] options = ["_pq_.compression", "_pq_.ünïcode"];
        var body = ReadSingleFrame(w => PgMessageWriter.WriteNegotiateProtocolVersion(w, 0, options), (byte)'v');
        Assert.Equal(Concat(Int32(0), Int32(2), CString(options[0]), CString(options[1])), body);

        body = ReadSingleFrame(w => PgMessageWriter.WriteNegotiateProtocolVersion(w, 0, []), (byte)'v');
        Assert.Equal(Concat(Int32(0), Int32(0)), body);
    }

    [Fact]
    public void StartupMessage_round_trips_through_PgStartupMessage()
    {
        KeyValuePair<string, string>[] parameters =
        [
            new("user", "jürgen"),
            new("database", "shop"),
            new("application_name", "wire ✓"),
            new("client_encoding", "UTF8"),
            new("options", ""),
        ];
        var writer = new ArrayBufferWriter<byte>();
        PgMessageWriter.WriteStartupMessage(writer, parameters);
        byte[] packet = writer.WrittenSpan.ToArray();

        // Untagged: the length is the first field and counts the whole packet.
        Assert.Equal(packet.Length, BinaryPrimitives.ReadInt32BigEndian(packet));
        int version = BinaryPrimitives.ReadInt32BigEndian(packet.AsSpan(4));
        Assert.Equal(196608, version);

        var startup = PgStartupMessage.Parse(version, packet.AsSpan(8));
        Assert.Equal(3, startup.MajorVersion);
        Assert.Equal(0, startup.MinorVersion);
        Assert.Equal(parameters, startup.Parameters);
    }

    [Fact]
    public void CancelRequest_is_the_16_bytes_of_the_spec()
    {
        var writer = new ArrayBufferWriter<byte>();
        PgMessageWriter.WriteRequestPacket(writer, 80877102, processId: 0x01020304, secretKey: unchecked((int)0xF1F2F3F4));

        // int32 16, int32 80877102 (1234 << 16 | 5678), int32 process id, int32 secret key.
        byte[] expected = [0, 0, 0, 16, 0x04, 0xD2, 0x16, 0x2E, 0x01, 0x02, 0x03, 0x04, 0xF1, 0xF2, 0xF3, 0xF4];
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void SSLRequest_is_the_8_bytes_of_the_spec()
    {
        var writer = new ArrayBufferWriter<byte>();
        PgMessageWriter.WriteRequestPacket(writer, 80877103);

        // int32 8, int32 80877103 (1234 << 16 | 5679).
        Assert.Equal([0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F], writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void GSSENCRequest_is_the_8_bytes_of_the_spec()
    {
        var writer = new ArrayBufferWriter<byte>();
        PgMessageWriter.WriteRequestPacket(writer, 80877104);

        // int32 8, int32 80877104 (1234 << 16 | 5680).
        Assert.Equal([0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x30], writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData("")]
    [InlineData("hunter2")]
    [InlineData("md568be9ed08db75f318087ab337aaea044")]
    [InlineData("pässwörd ✓")]
    public void PasswordMessage_round_trips(string password)
    {
        var body = ReadSingleFrame(w => PgMessageWriter.WritePasswordMessage(w, password), (byte)'p');
        Assert.Equal(CString(password), body);
    }

    [Fact]
    public void SaslInitialResponse_round_trips()
    {
        byte[] data = "n,,n=,r=rOprNGfwEbeRWgbNEkqO"u8.ToArray();
        var body = ReadSingleFrame(w => PgMessageWriter.WriteSaslInitialResponse(w, "SCRAM-SHA-256", data), (byte)'p');
        Assert.Equal(Concat(CString("SCRAM-SHA-256"), Int32(data.Length), data), body);

        body = ReadSingleFrame(w => PgMessageWriter.WriteSaslInitialResponse(w, "SCRAM-SHA-256-PLUS", []), (byte)'p');
        Assert.Equal(Concat(CString("SCRAM-SHA-256-PLUS"), Int32(0)), body);
    }

    [Fact]
    public void SaslResponse_round_trips()
    {
        byte[] data = Encoding.ASCII.GetBytes(
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        var body = ReadSingleFrame(w => PgMessageWriter.WriteSaslResponse(w, data), (byte)'p');
        Assert.Equal(data, body);
    }

    [Fact]
    public void Terminate_is_five_bytes()
    {
        var writer = new ArrayBufferWriter<byte>();
        PgMessageWriter.WriteTerminate(writer);
        Assert.Equal([(byte)'X', 0, 0, 0, 4], writer.WrittenSpan.ToArray());
        ReadSingleFrame(PgMessageWriter.WriteTerminate, (byte)'X');
    }

    [Fact]
    public void Messages_written_back_to_back_read_back_in_order()
    {
        var writer = new ArrayBufferWriter<byte>();
        PgMessageWriter.WriteAuthenticationRequest(writer, 0);
        PgMessageWriter.WriteBackendKeyData(writer, 1, 2);
        PgMessageWriter.WriteNoticeResponse(writer, "NOTICE", "00000", "hello");
        PgMessageWriter.WriteReadyForQuery(writer, (byte)'I');
        byte[] stream = writer.WrittenSpan.ToArray();

        Segmentation.ForEach(stream, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            var types = new List<byte>();
            while (PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte type, out _))
            {
                types.Add(type);
            }

            Assert.True(reader.End);
            Assert.Equal("RKNZ"u8.ToArray(), types);
        });
    }

    [Fact]
    public void A_string_with_NUL_is_rejected_and_nothing_is_written()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => PgMessageWriter.WritePasswordMessage(writer, "a\0b"));
        Assert.Throws<ArgumentException>(() => PgMessageWriter.WriteErrorResponse(writer, "ERROR", "XX000", "bad\0message"));
        Assert.Throws<ArgumentException>(() => PgMessageWriter.WriteStartupMessage(writer, [new("user", "a\0b")]));
        Assert.Equal(0, writer.WrittenCount);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("ü")]
    [InlineData("✓")]
    [InlineData("🚫")]
    public void CStringLength_counts_UTF8_bytes_and_the_terminator(string value)
    {
        Assert.Equal(Encoding.UTF8.GetByteCount(value) + 1, PgMessageWriter.CStringLength(value));
    }

    /// <summary>
    /// Writes one message, checks that its length field matches the bytes written, reads it back on
    /// every segmentation and returns its body.
    /// </summary>
    private static byte[] ReadSingleFrame(Action<IBufferWriter<byte>> write, byte expectedType)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        byte[] frame = writer.WrittenSpan.ToArray();
        Assert.True(frame.Length >= PgFrameReader.HeaderLength);
        Assert.Equal(expectedType, frame[0]);
        Assert.Equal(frame.Length - 1, BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(1)));

        byte[]? result = null;
        Segmentation.ForEach(frame, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            Assert.True(PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte type, out var body));
            Assert.Equal(expectedType, type);
            Assert.True(reader.End);
            byte[] bytes = body.ToArray();
            if (result is null)
            {
                result = bytes;
            }
            else
            {
                Assert.Equal(result, bytes);
            }
        });

        return result!;
    }
}
