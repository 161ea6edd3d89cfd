namespace Wire.Http.Protocol;

/// <summary>What a response head says about its message.</summary>
/// <param name="Version">The protocol version.</param>
/// <param name="Status">The status code, 100 to 599.</param>
/// <param name="Body">How the body is delimited (none for 1xx, 204, 304 and responses to HEAD).</param>
/// <param name="ContentLength">The body length for <see cref="Http1BodyKind.ContentLength"/>; otherwise 0.</param>
/// <param name="KeepAlive">Whether the server keeps the connection open after this response.</param>
/// <param name="HeadLength">The head's length in bytes, empty line included.</param>
internal readonly record struct Http1ResponseHead(
    Http1Version Version,
    int Status,
    Http1BodyKind Body,
    long ContentLength,
    bool KeepAlive,
    int HeadLength)
{
    /// <summary>An interim response (1xx other than 101): the final response follows on the same connection.</summary>
    public bool IsInterim => Status is >= 100 and < 200 and not 101;

    /// <summary><c>101 Switching Protocols</c>: after this head the connection carries the upgraded protocol.</summary>
    public bool IsSwitchingProtocols => Status == 101;
}
