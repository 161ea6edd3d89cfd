namespace Wire.Http.Protocol;

/// <summary>
/// Receives the parts of a message head from <see cref="Http1Parser"/> in order. Implemented by structs so the calls
/// devirtualize. The spans are valid only during the call.
/// </summary>
internal interface IHttp1HeadHandler
{
    /// <summary>The request line of a request head.</summary>
    /// <param name="method">The method, or <see cref="Http1Method.Other"/> with its token in <paramref name="methodText"/>.</param>
    /// <param name="methodText">The method token as sent.</param>
    /// <param name="target">The request-target as sent (checked: visible ASCII, no fragment).</param>
    /// <param name="version">The protocol version.</param>
    void OnRequestLine(Http1Method method, ReadOnlySpan<byte> methodText, ReadOnlySpan<byte> target, Http1Version version);

    /// <summary>The status line of a response head.</summary>
    /// <param name="version">The protocol version.</param>
    /// <param name="status">The status code, 100 to 599.</param>
    /// <param name="reason">The reason phrase as sent (may be empty).</param>
    void OnStatusLine(Http1Version version, int status, ReadOnlySpan<byte> reason);

    /// <summary>One header field, in the order sent.</summary>
    /// <param name="name">The field name (a token; case as sent).</param>
    /// <param name="value">The field value without leading and trailing whitespace.</param>
    /// <param name="line">The whole field line without its CRLF, to forward unchanged.</param>
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ReadOnlySpan<byte> line);
}
