using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace Wire.Postgres.Protocol;

/// <summary>
/// Writes the messages Wire originates itself (startup, authentication, errors). Each writer computes
/// the length first, then checks that exactly that many bytes were written.
/// </summary>
internal static class PgMessageWriter
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>ErrorResponse with severity, SQLSTATE and message (fields S, V, C, M).</summary>
    public static void WriteErrorResponse(IBufferWriter<byte> writer, string severity, string sqlState, string message)
        => WriteNotice(writer, (byte)'E', severity, sqlState, message);

    /// <summary>NoticeResponse with severity, SQLSTATE and message.</summary>
    public static void WriteNoticeResponse(IBufferWriter<byte> writer, string severity, string sqlState, string message)
        => WriteNotice(writer, (byte)'N', severity, sqlState, message);

    private static void WriteNotice(IBufferWriter<byte> writer, byte type, string severity, string sqlState, string message)
    {
        // Fields: S severity (localized), V severity (never localized), C code, M message; then a final 0.
        int length = 4
            + 1 + CStringLength(severity)
            + 1 + CStringLength(severity)
            + 1 + CStringLength(sqlState)
            + 1 + CStringLength(message)
            + 1;
        var w = new Frame(writer, type, length);
        w.Byte((byte)'S');
        w.CString(severity);
        w.Byte((byte)'V');
        w.CString(severity);
        w.Byte((byte)'C');
        w.CString(sqlState);
        w.Byte((byte)'M');
        w.CString(message);
        w.Byte(0);
        w.Done();
    }

    /// <summary>AuthenticationOk, or another Authentication request without payload (3 = cleartext password).</summary>
    public static void WriteAuthenticationRequest(IBufferWriter<byte> writer, int code)
    {
        var w = new Frame(writer, (byte)'R', 8);
        w.Int32(code);
        w.Done();
    }

    /// <summary>BackendKeyData.</summary>
    public static void WriteBackendKeyData(IBufferWriter<byte> writer, int processId, int secretKey)
    {
        var w = new Frame(writer, (byte)'K', 12);
        w.Int32(processId);
        w.Int32(secretKey);
        w.Done();
    }

    /// <summary>ReadyForQuery with the transaction status byte (I, T or E).</summary>
    public static void WriteReadyForQuery(IBufferWriter<byte> writer, byte transactionStatus)
    {
        var w = new Frame(writer, (byte)'Z', 5);
        w.Byte(transactionStatus);
        w.Done();
    }

    /// <summary>ParameterStatus: a run-time parameter's name and value.</summary>
    public static void WriteParameterStatus(IBufferWriter<byte> writer, string name, string value)
    {
        var w = new Frame(writer, (byte)'S', 4 + CStringLength(name) + CStringLength(value));
        w.CString(name);
        w.CString(value);
        w.Done();
    }

    /// <summary>NegotiateProtocolVersion: the newest minor version Wire speaks and the options it does not know.</summary>
    public static void WriteNegotiateProtocolVersion(IBufferWriter<byte> writer, int newestMinor, IReadOnlyList<string> unsupportedOptions)
    {
        int length = 4 + 4 + 4;
        foreach (var option in unsupportedOptions)
        {
            length += CStringLength(option);
        }

        var w = new Frame(writer, (byte)'v', length);
        w.Int32(newestMinor);
        w.Int32(unsupportedOptions.Count);
        foreach (var option in unsupportedOptions)
        {
            w.CString(option);
        }

        w.Done();
    }

    /// <summary>StartupMessage for protocol 3.0 (untagged).</summary>
    public static void WriteStartupMessage(IBufferWriter<byte> writer, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        int length = 4 + 4 + 1;
        foreach (var (name, value) in parameters)
        {
            length += CStringLength(name) + CStringLength(value);
        }

        var w = new Frame(writer, type: null, length);
        w.Int32(PgStartupCode.Protocol30);
        foreach (var (name, value) in parameters)
        {
            w.CString(name);
            w.CString(value);
        }

        w.Byte(0);
        w.Done();
    }

    /// <summary>An 8- or 16-byte request packet: SSLRequest, GSSENCRequest or CancelRequest.</summary>
    public static void WriteRequestPacket(IBufferWriter<byte> writer, int code, int processId = 0, int secretKey = 0)
    {
        bool cancel = code == PgStartupCode.CancelRequest;
        var w = new Frame(writer, type: null, cancel ? 16 : 8);
        w.Int32(code);
        if (cancel)
        {
            w.Int32(processId);
            w.Int32(secretKey);
        }

        w.Done();
    }

    /// <summary>PasswordMessage carrying a cleartext or MD5-hashed password.</summary>
    public static void WritePasswordMessage(IBufferWriter<byte> writer, string password)
    {
        var w = new Frame(writer, (byte)'p', 4 + CStringLength(password));
        w.CString(password);
        w.Done();
    }

    /// <summary>SASLInitialResponse: mechanism name and the client-first message.</summary>
    public static void WriteSaslInitialResponse(IBufferWriter<byte> writer, string mechanism, ReadOnlySpan<byte> data)
    {
        var w = new Frame(writer, (byte)'p', 4 + CStringLength(mechanism) + 4 + data.Length);
        w.CString(mechanism);
        w.Int32(data.Length);
        w.Bytes(data);
        w.Done();
    }

    /// <summary>SASLResponse: the client-final message.</summary>
    public static void WriteSaslResponse(IBufferWriter<byte> writer, ReadOnlySpan<byte> data)
    {
        var w = new Frame(writer, (byte)'p', 4 + data.Length);
        w.Bytes(data);
        w.Done();
    }

    /// <summary>Query: one simple-protocol query string.</summary>
    public static void WriteQuery(IBufferWriter<byte> writer, string sql)
    {
        var w = new Frame(writer, (byte)'Q', 4 + CStringLength(sql));
        w.CString(sql);
        w.Done();
    }

    /// <summary>Describe of a statement ('S') or portal ('P').</summary>
    public static void WriteDescribe(IBufferWriter<byte> writer, byte what, string name)
    {
        var w = new Frame(writer, (byte)'D', 4 + 1 + CStringLength(name));
        w.Byte(what);
        w.CString(name);
        w.Done();
    }

    /// <summary>Execute: run <paramref name="portal"/>, at most <paramref name="maxRows"/> rows (0: all).</summary>
    public static void WriteExecute(IBufferWriter<byte> writer, string portal, int maxRows)
    {
        var w = new Frame(writer, (byte)'E', 4 + CStringLength(portal) + 4);
        w.CString(portal);
        w.Int32(maxRows);
        w.Done();
    }

    /// <summary>FunctionCall of function <paramref name="oid"/> with no arguments and a text result.</summary>
    public static void WriteFunctionCall(IBufferWriter<byte> writer, int oid)
    {
        var w = new Frame(writer, (byte)'F', 4 + 4 + 2 + 2 + 2);
        w.Int32(oid);
        w.Int16(0);
        w.Int16(0);
        w.Int16(0);
        w.Done();
    }

    /// <summary>Terminate.</summary>
    public static void WriteTerminate(IBufferWriter<byte> writer)
    {
        var w = new Frame(writer, (byte)'X', 4);
        w.Done();
    }

    /// <summary>Bytes of a null-terminated UTF-8 string.</summary>
    public static int CStringLength(string value) => Utf8.GetByteCount(value) + 1;

    /// <summary>A message being written into one contiguous span obtained up front.</summary>
    private ref struct Frame
    {
        private readonly IBufferWriter<byte> _writer;
        private readonly Span<byte> _span;
        private int _position;

        public Frame(IBufferWriter<byte> writer, byte? type, int length)
        {
            _writer = writer;
            int total = length + (type.HasValue ? 1 : 0);
            _span = writer.GetSpan(total).Slice(0, total);
            if (type.HasValue)
            {
                _span[0] = type.Value;
                _position = 1;
            }

            Int32(length);
        }

        public void Byte(byte value) => _span[_position++] = value;

        public void Int32(int value)
        {
            BinaryPrimitives.WriteInt32BigEndian(_span.Slice(_position), value);
            _position += 4;
        }

        public void Int16(short value)
        {
            BinaryPrimitives.WriteInt16BigEndian(_span.Slice(_position), value);
            _position += 2;
        }

        public void Bytes(ReadOnlySpan<byte> value)
        {
            value.CopyTo(_span.Slice(_position));
            _position += value.Length;
        }

        public void CString(string value)
        {
            if (value.Contains('\0'))
            {
                throw new ArgumentException("A protocol string cannot contain a NUL character.", nameof(value));
            }

            _position += Utf8.GetBytes(value, _span.Slice(_position));
            _span[_position++] = 0;
        }

        public readonly void Done()
        {
            // The length was computed first; writing anything else would desynchronise the peer.
            Debug.Assert(_position == _span.Length, "message length mismatch");
            if (_position != _span.Length)
            {
                throw new InvalidOperationException("Message length mismatch.");
            }

            _writer.Advance(_position);
        }
    }
}
