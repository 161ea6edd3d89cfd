namespace Wire.Http.Protocol;

/// <summary>The form of a request-target (RFC 9112 §3.2).</summary>
internal enum Http1TargetForm : byte
{
    /// <summary><c>/path?query</c>: what clients send to an origin server or a reverse proxy.</summary>
    Origin,

    /// <summary><c>http://host/path</c>: what clients send to a forward proxy; servers must accept it too.</summary>
    Absolute,

    /// <summary><c>*</c>, only with OPTIONS.</summary>
    Asterisk,
}
