namespace Wire.Http.Protocol;

/// <summary>What a request head says about its message: enough to frame, route and authorize it.</summary>
/// <param name="Method">The method (<see cref="Http1Method.Other"/> for methods Wire has no handling for).</param>
/// <param name="Version">The protocol version.</param>
/// <param name="TargetForm">The form of the request-target.</param>
/// <param name="Body">How the body is delimited: <see cref="Http1BodyKind.None"/>, Content-Length or chunked.</param>
/// <param name="ContentLength">The body length for <see cref="Http1BodyKind.ContentLength"/>; otherwise 0.</param>
/// <param name="KeepAlive">Whether the client keeps the connection open after this exchange.</param>
/// <param name="Upgrade">Whether <c>Connection: upgrade</c> with an <c>Upgrade</c> field asks to switch protocols.</param>
/// <param name="ExpectContinue">Whether the client waits for <c>100 Continue</c> before sending the body.</param>
/// <param name="HeadLength">The head's length in bytes, empty line included (leading empty lines excluded).</param>
internal readonly record struct Http1RequestHead(
    Http1Method Method,
    Http1Version Version,
    Http1TargetForm TargetForm,
    Http1BodyKind Body,
    long ContentLength,
    bool KeepAlive,
    bool Upgrade,
    bool ExpectContinue,
    int HeadLength);
