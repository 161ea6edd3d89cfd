namespace Wire.Http.Protocol;

/// <summary>WebSocket frame opcodes (RFC 6455 §5.2); the values are the wire's.</summary>
internal enum Http1WebSocketOpcode : byte
{
    /// <summary>A continuation of a fragmented message.</summary>
    Continuation = 0x0,

    /// <summary>A text frame (UTF-8).</summary>
    Text = 0x1,

    /// <summary>A binary frame (Kubernetes <c>*.channel.k8s.io</c> streams: the first byte names the stream).</summary>
    Binary = 0x2,

    /// <summary>Close.</summary>
    Close = 0x8,

    /// <summary>Ping.</summary>
    Ping = 0x9,

    /// <summary>Pong.</summary>
    Pong = 0xA,
}
