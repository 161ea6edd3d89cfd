namespace Wire.Http.Protocol;

/// <summary>Request methods with a meaning to Wire (RFC 9110 §9); any other valid token is <see cref="Other"/>.</summary>
internal enum Http1Method : byte
{
    /// <summary>A method Wire has no special handling for (the handler still gets its text).</summary>
    Other,

    /// <summary><c>GET</c>.</summary>
    Get,

    /// <summary><c>HEAD</c>: its response never has a body.</summary>
    Head,

    /// <summary><c>POST</c>.</summary>
    Post,

    /// <summary><c>PUT</c>.</summary>
    Put,

    /// <summary><c>PATCH</c>.</summary>
    Patch,

    /// <summary><c>DELETE</c>.</summary>
    Delete,

    /// <summary><c>OPTIONS</c>: the only method allowed the asterisk-form target.</summary>
    Options,

    /// <summary><c>CONNECT</c>: a tunnel request; Wire is not a forward proxy and refuses it.</summary>
    Connect,

    /// <summary><c>TRACE</c>.</summary>
    Trace,
}
