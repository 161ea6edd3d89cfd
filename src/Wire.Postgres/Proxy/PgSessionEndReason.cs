namespace Wire.Postgres.Proxy;

/// <summary>Why a PostgreSQL session ended; exactly one is recorded per session.</summary>
public enum PgSessionEndReason
{
    /// <summary>The session carried nothing for its idle timeout (57P05 sent).</summary>
    Idle = 100,

    /// <summary>The client sent Terminate.</summary>
    ClientTerminated,

    /// <summary>The client closed its connection without Terminate.</summary>
    ClientClosed,

    /// <summary>The server closed its connection.</summary>
    UpstreamClosed,

    /// <summary>The client broke the protocol (08P01 sent, connection closed).</summary>
    ClientProtocolViolation,

    /// <summary>The server broke the protocol (08P01 sent to the client, both closed).</summary>
    UpstreamProtocolViolation,

    /// <summary>Writing to the client failed (it vanished).</summary>
    ClientError,

    /// <summary>Writing to or reading from the server failed.</summary>
    UpstreamError,

    /// <summary>An administrator (or grant expiry) ended the session: 57P01 FATAL sent, both closed.</summary>
    Terminated,

    /// <summary>The gateway is shutting down.</summary>
    Shutdown,

    /// <summary>The session never got past startup (refused, timed out, or a cancel request).</summary>
    NotEstablished,
}
