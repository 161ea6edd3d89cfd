namespace Wire.Http.Protocol;

/// <summary>How a message's body is delimited (RFC 9112 §6.3).</summary>
internal enum Http1BodyKind : byte
{
    /// <summary>No body: a request without Content-Length or Transfer-Encoding, or a response to HEAD, 1xx, 204, 304.</summary>
    None,

    /// <summary><c>Content-Length</c> bytes.</summary>
    ContentLength,

    /// <summary><c>Transfer-Encoding: chunked</c>.</summary>
    Chunked,

    /// <summary>A response without either: the body runs until the server closes the connection.</summary>
    CloseDelimited,
}
