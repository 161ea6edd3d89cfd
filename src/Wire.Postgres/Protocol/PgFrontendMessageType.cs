namespace Wire.Postgres.Protocol;

/// <summary>
/// Tagged frontend (client to server) messages of protocol 3.0; each value is the byte on the wire.
/// See https://www.postgresql.org/docs/current/protocol-message-formats.html.
/// </summary>
public enum PgFrontendMessageType : byte
{
    /// <summary>Bind a portal.</summary>
    Bind = (byte)'B',

    /// <summary>Close a statement or portal.</summary>
    Close = (byte)'C',

    /// <summary>COPY data.</summary>
    CopyData = (byte)'d',

    /// <summary>COPY finished.</summary>
    CopyDone = (byte)'c',

    /// <summary>COPY failed.</summary>
    CopyFail = (byte)'f',

    /// <summary>Describe a statement or portal.</summary>
    Describe = (byte)'D',

    /// <summary>Execute a portal.</summary>
    Execute = (byte)'E',

    /// <summary>Flush the server's output.</summary>
    Flush = (byte)'H',

    /// <summary>Fast-path function call.</summary>
    FunctionCall = (byte)'F',

    /// <summary>Parse a statement.</summary>
    Parse = (byte)'P',

    /// <summary>PasswordMessage, SASLInitialResponse, SASLResponse or GSSResponse (meaning depends on state).</summary>
    Password = (byte)'p',

    /// <summary>Simple query.</summary>
    Query = (byte)'Q',

    /// <summary>End of an extended-query batch.</summary>
    Sync = (byte)'S',

    /// <summary>Orderly close.</summary>
    Terminate = (byte)'X',
}
