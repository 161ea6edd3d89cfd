namespace Wire.Http.Protocol;

/// <summary>The HTTP versions Wire speaks on a connection (RFC 9112 §2.3).</summary>
internal enum Http1Version : byte
{
    /// <summary><c>HTTP/1.0</c>: no chunked coding, connections close unless <c>keep-alive</c> is asked for.</summary>
    Http10 = 10,

    /// <summary><c>HTTP/1.1</c>.</summary>
    Http11 = 11,
}
