using Wire.Testing;
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Wire.Postgres.Protocol;

namespace Wire.Fuzz.Targets;

/// <summary>
/// Starting inputs for each target, built from the codec's test vectors: valid conversations, and
/// the boundary cases the unit tests pin (bad lengths, unknown types, truncation, bad UTF-8).
/// </summary>
public static class SeedCorpus
{
    /// <summary>The seeds for the target called <paramref name="targetName"/>.</summary>
    public static IReadOnlyList<byte[]> For(string targetName) => targetName switch
    {
        "pg-backend-stream" => Backend,
        "pg-frontend-stream" => Frontend,
        "pg-startup" => Startup,
        "pg-scanner" => [.. Frontend, .. Backend],
        "pg-sql" => Sql,
        "detectors" => Detectors,
        "http-request-stream" => HttpRequests,
        "http-response-stream" => HttpResponses,
        "http-websocket" => WebSocketFrames,
        "json-masker" => Json,
        "ssh-transport" => SshSeeds.Transport,
        "ssh-channels" => SshChannelSeeds.All,
        "ssh-keys" => SshSeeds.Keys,
        "proxy-header" => ProxyHeaders,
        _ => throw new ArgumentException($"No seed corpus for '{targetName}'.", nameof(targetName)),
    };

    /// <summary>PROXY protocol headers as load balancers send them (v1 TCP4/TCP6/UNKNOWN, v2 IPv4 with a TLV, LOCAL), each followed by a client's first bytes.</summary>
    private static IReadOnlyList<byte[]> ProxyHeaders { get; } =
    [
        Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 10.0.0.1 40000 6432\r\n\0\0\0\x08\x04\xd2\x16\x2f"),
        Encoding.ASCII.GetBytes("PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\nGET / HTTP/1.1\r\n\r\n"),
        Encoding.ASCII.GetBytes("PROXY UNKNOWN\r\nSSH-2.0-x\r\n"),
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x11,
            203, 0, 113, 7, 10, 0, 0, 1, 0x9C, 0x40, 0x19, 0x00, 0x04, 0x00, 0x02, 0xAB, 0xCD, (byte)'Q'],
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00],
        Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n\r\n"),
        Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 10.0.0.1 70000 6432\r\n"),
    ];

    /// <summary>A tagged frame: type, length counting itself, body.</summary>
    public static byte[] Frame(byte type, params byte[][] bodyParts)
    {
        byte[] body = bodyParts.SelectMany(p => p).ToArray();
        var frame = new byte[5 + body.Length];
        frame[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), 4 + body.Length);
        body.CopyTo(frame, 5);
        return frame;
    }

    public static byte[] Concat(params byte[][] parts) => Bytes.Concat(parts);

    public static byte[] CString(string value) => Bytes.CString(value);

    public static byte[] Int16(short value) => Bytes.Int16(value);

    public static byte[] Int32(int value) => Bytes.Int32(value);

    /// <summary>An extended-protocol SELECT answered with three rows, as a server sends it.</summary>
    public static byte[] SelectResponse { get; } = Concat(
        Frame((byte)'1'),
        Frame((byte)'2'),
        Frame(
            (byte)'T',
            Int16(2),
            CString("id"), Int32(16385), Int16(1), Int32(23), Int16(4), Int32(-1), Int16(0),
            CString("name"), Int32(16385), Int16(2), Int32(25), Int16(-1), Int32(-1), Int16(0)),
        Frame((byte)'D', Int16(2), Int32(1), "1"u8.ToArray(), Int32(5), "alice"u8.ToArray()),
        Frame((byte)'D', Int16(2), Int32(1), "2"u8.ToArray(), Int32(-1)),
        Frame((byte)'D', Int16(2), Int32(1), "3"u8.ToArray(), Int32(11), Encoding.UTF8.GetBytes("çedille ✓")),
        Frame((byte)'C', CString("SELECT 3")),
        Frame((byte)'Z', [(byte)'I']));

    /// <summary>The client side of the same exchange: Parse, Bind, Describe, Execute, Sync.</summary>
    public static byte[] SelectRequest { get; } = Concat(
        Frame((byte)'P', CString(""), CString("SELECT id, name FROM users ORDER BY id LIMIT $1"), Int16(1), Int32(23)),
        Frame((byte)'B', CString(""), CString(""), Int16(0), Int16(1), Int32(1), "3"u8.ToArray(), Int16(0)),
        Frame((byte)'D', [(byte)'P'], CString("")),
        Frame((byte)'E', CString(""), Int32(0)),
        Frame((byte)'S'));

    public static IReadOnlyList<byte[]> Backend { get; } = BuildBackend();

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>Pipelined requests of every framing, and the smuggling cases the parser tests pin.</summary>
    public static IReadOnlyList<byte[]> HttpRequests { get; } =
    [
        Latin1("GET /api/v1/namespaces/default/pods?watch=true HTTP/1.1\r\nHost: kube\r\nAuthorization: Bearer t\r\n\r\n"
            + "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: kube\r\nContent-Length: 11\r\n\r\n{\"a\":\"b c\"}"
            + "PUT /x HTTP/1.1\r\nHost: kube\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n"
            + "GET /ws HTTP/1.1\r\nHost: kube\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
        Latin1("\r\nOPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.0\r\n\r\n"),
        Latin1("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Latin1("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        Latin1("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"),
        Latin1("GET / HTTP/1.1\nHost: a\n\n"),
        Latin1("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n"),
        Latin1("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
    ];

    /// <summary>Responses of every framing (the target reads them as answers to GET).</summary>
    public static IReadOnlyList<byte[]> HttpResponses { get; } =
    [
        Latin1("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
            + "HTTP/1.1 200 OK\r\n\r\nuntil the connection closes"),
        Latin1("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u0081\u0002hi"),
        Latin1("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Latin1("HTTP/1.1 2000 OK\r\n\r\n"),
        Latin1("HTTP/1.1 200 OK\r\nX: caf\u00e9\r\nContent-Length: 0\r\n\r\n"),
    ];

    /// <summary>JSON texts (a watch stream of two events, escapes, numbers) and broken ones.</summary>
    public static IReadOnlyList<byte[]> Json { get; } =
    [
        Latin1("{\"items\":[{\"data\":{\"password\":\"czNjcjN0\"}}],\"note\":\"mail alice@example.com\",\"n\":-1.5e3}\n{\"type\":\"ADDED\"}"),
        Latin1("[\"bob\\u0040example.org\",\"123-45-6789\",true,false,null,{\"password\":{\"a\":[1,\"x\"]}}]"),
        Latin1("{\"a\":01}"),
        Latin1("{\"a\":\"\\x\"}"),
        Latin1("{\"password\":\"unterminated"),
    ];

    /// <summary>Frames in both directions (the first byte: 1 = from the client, 0 = from the server).</summary>
    public static IReadOnlyList<byte[]> WebSocketFrames { get; } =
    [
        [1, 0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6F, 0x68, 0x6E, 0x89, 0x80, 0, 0, 0, 0],
        [0, 0x02, 126, 0x01, 0x00, .. new byte[256], 0x88, 0x02, 0x03, 0xE8],
        [0, 0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0],
        [1, 0xC1, 0x80, 0, 0, 0, 0],
        [0, 0x81, 0x85, 1, 2, 3, 4],
    ];

    public static IReadOnlyList<byte[]> Frontend { get; } = BuildFrontend();

    public static IReadOnlyList<byte[]> Startup { get; } =
    [
        Concat(CString("user"), CString("alice"), CString("database"), CString("shop"), CString("application_name"), CString("psql ✓"),
            [0]),
        Concat(CString("user"), CString("alice"), CString("options"), CString(""), [0]),
        [0],
        [],
        Concat(CString("user"), CString("alice")),
        Concat(CString("user"), CString("alice"), [0, (byte)'x']),
        CString("user"),
        Concat(CString("user"), CString("a"), CString("user"), CString("b"), [0]),
        Concat(CString("user"), [0xC0, 0x80, 0], [0]),
        Concat(CString("user"), [0xED, 0xA0, 0x80, 0], [0]),
        Concat(CString("_pq_.compression"), CString("on"), CString("replication"), CString("database"), [0]),
    ];

    /// <summary>
    /// SQL texts from the classifier's tests: every literal form, both string modes' trap, nested comments, function bodies,
    /// data-modifying CTEs, unterminated constructs, broken UTF-8; the ones holding NUL are malformed Query strings.
    /// </summary>
    public static IReadOnlyList<byte[]> Sql { get; } =
    [
        .. new[]
        {
            "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
            "SELECT 'x\\''; DROP TABLE t; --'",
            "SELECT E'\\''; DROP TABLE t; --'",
            "SELECT U&'d\\0061t' UESCAPE '!', B'01', X'1F', N'n', $$a;b$$, $t$ $x$ ; $t$, \"q\"\"d\"",
            "/* a /* nested ; */ b */ DrOp/**/TABLE \"A\".b; -- tail ;\nDELETE FROM t",
            "WITH x AS (DELETE FROM t RETURNING *) INSERT INTO log SELECT * FROM x",
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN NOT MATCHED THEN INSERT VALUES (s.id)",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a THEN 1 END; SELECT 1 AS end; END; DROP TABLE t",
            "CREATE RULE r AS ON INSERT TO t DO INSTEAD (INSERT INTO u VALUES (1); DELETE FROM v); SELECT 1",
            "PREPARE p (int) AS UPDATE t SET a = (SELECT b FROM u) WHERE 1=1; EXECUTE p(1); EXPLAIN (ANALYZE) EXECUTE p(2)",
            "COPY (SELECT * FROM t JOIN u USING (id)) TO PROGRAM 'gzip'; COPY t FROM STDIN",
            "SELECT count(*) FILTER (WHERE x) OVER (PARTITION BY y), extract(year FROM d) FROM ONLY s.t AS a(b) TABLESAMPLE system (1)",
            "SELECT 'a'\n-- continued\n'b', 'c' /* no */\n'd'; SELECT 1..2, 0x1F, 1e'x', a$$b",
            "SELECT 'unterminated ; DROP",
            "SELECT \"unterminated ; DROP",
            "SELECT $q$ unterminated ; DROP",
            "SELECT 1 /* unterminated ; DROP",
            "((((((SELECT 1 FROM t)))))); ))) ((( ;",
            "DECLARE c CURSOR FOR SELECT * INTO t2 FROM t; FETCH 10 FROM c",
        }.Select(Encoding.UTF8.GetBytes),
        [0xFF, 0xFE, (byte)'\'', 0xC3, (byte)';', 0xED, 0xA0, 0x80, (byte)'"', 0xF0],
        Concat("SELECT 1"u8.ToArray(), [0], "; DROP TABLE t"u8.ToArray()),
        Concat("SELECT '"u8.ToArray(), [0], "'"u8.ToArray()),
        [0],
    ];

    /// <summary>
    /// Text with one of each detector's matches and near misses, around multi-byte and invalid UTF-8
    /// (rejected: not a value list), and the same values framed as value lists (accepted).
    /// </summary>
    public static IReadOnlyList<byte[]> Detectors { get; } = BuildDetectors();

    private static List<byte[]> BuildDetectors()
    {
        string[] values =
        [
            "4111 1111 1111 1111", "378282246310005", "4111111111111112", "123-45-6789", "000-12-3456",
            "alice.smith@example.com", "bob@localhost", "(415) 555-0100", "+44 (0)20 7946 0958", "4155550100",
            "DE89 3704 0044 0532 0130 00", "DE88 3704 0044 0532 0130 00", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPL",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcN\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKo\n-----END PUBLIC KEY-----",
        ];
        byte[] ValueList(IReadOnlyList<string?> items) => Concat(
            [Int16((short)items.Count), .. items.Select(v => v is null ? Int32(-1) : Concat(Int32(Encoding.UTF8.GetByteCount(v)), Encoding.UTF8.GetBytes(v)))]);

        return
        [
            Encoding.UTF8.GetBytes(string.Join(" | ", values)),
            Encoding.UTF8.GetBytes("Zahlung ✓ 4111-1111-1111-1111 für Jürgen, 電話(415) 555-0100。bob@example.com 🚀"),
            Encoding.UTF8.GetBytes("{\"key\":\"-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIBkg\\n-----END EC PRIVATE KEY-----\",\"t\":\"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln\"}"),
            Concat([0xFF, 0xC3], Encoding.UTF8.GetBytes("123-45-6789"), [0xE2, 0x82], Encoding.UTF8.GetBytes("a@b.cc"), [0xF0]),
            ValueList(values),
            ValueList(["x 4111111111111111.bob@example.com y", null, "", "2026-11-22T10:15:32Z 12:30 3.14159"]),
            ValueList([]),
            [],
        ];
    }

    private static List<byte[]> BuildBackend()
    {
        var written = new ArrayBufferWriter<byte>();
        PgMessageWriter.WriteAuthenticationRequest(written, 0);
        PgMessageWriter.WriteBackendKeyData(written, 4242, 0x5EC2E7);
        PgMessageWriter.WriteNoticeResponse(written, "NOTICE", "00000", "relation exists, skipping");
        PgMessageWriter.WriteErrorResponse(written, "ERROR", "42501", "permission denied for table users ✓");
        PgMessageWriter.WriteNegotiateProtocolVersion(written, 0, ["_pq_.compression"]);
        PgMessageWriter.WriteReadyForQuery(written, (byte)'E');
        byte[] handshake = written.WrittenSpan.ToArray();

        return
        [
            SelectResponse,
            handshake,
            Concat(handshake, SelectResponse),
            SelectResponse[..^3],
            SelectResponse[..4],
            [],
            Concat(Frame((byte)'Z', [(byte)'I']), [(byte)'D', 0, 0, 0, 3]),
            Concat(Frame((byte)'Z', [(byte)'I']), [(byte)'D', 0x7F, 0xFF, 0xFF, 0xFF]),
            Concat(Frame((byte)'Z', [(byte)'I']), Frame((byte)'x', [1, 2, 3])),
            Frame((byte)'E', [(byte)'S']),
            Frame((byte)'E', [(byte)'M', 0xFF, 0xFE, 0, 0]),
            Frame((byte)'N', [(byte)'V', (byte)'E', (byte)'R', 0, (byte)'C', (byte)'X']),
        ];
    }

    private static List<byte[]> BuildFrontend()
    {
        var written = new ArrayBufferWriter<byte>();
        PgMessageWriter.WritePasswordMessage(written, "md568be9ed08db75f318087ab337aaea044");
        PgMessageWriter.WriteSaslInitialResponse(written, "SCRAM-SHA-256", "n,,n=,r=rOprNGfwEbeRWgbNEkqO"u8);
        PgMessageWriter.WriteSaslResponse(written, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA"u8);
        byte[] authentication = written.WrittenSpan.ToArray();
        byte[] query = Frame((byte)'Q', CString("SELECT 1"));
        byte[] terminate = Frame((byte)'X');

        return
        [
            SelectRequest,
            authentication,
            Concat(query, terminate),
            Concat(query, terminate, [0xFF, 0xFF, 0xFF]),
            Concat(Frame((byte)'d', [1, 2, 3]), Frame((byte)'c'), Frame((byte)'H')),
            SelectRequest[..^1],
            [(byte)'Q', 0, 0, 0],
            [(byte)'Q', 0, 0, 0, 0],
            Concat(query, Frame((byte)'Z', [(byte)'I'])),
        ];
    }
}
