namespace Wire.Postgres.Protocol;

/// <summary>
/// Tagged backend (server to client) messages of protocol 3.0; each value is the byte on the wire.
/// See https://www.postgresql.org/docs/current/protocol-message-formats.html.
/// </summary>
public enum PgBackendMessageType : byte
{
    /// <summary>Authentication request or result (all Authentication* messages).</summary>
    Authentication = (byte)'R',

    /// <summary>Cancellation key of the session.</summary>
    BackendKeyData = (byte)'K',

    /// <summary>Bind finished.</summary>
    BindComplete = (byte)'2',

    /// <summary>Close finished.</summary>
    CloseComplete = (byte)'3',

    /// <summary>A command finished, with its tag.</summary>
    CommandComplete = (byte)'C',

    /// <summary>COPY data.</summary>
    CopyData = (byte)'d',

    /// <summary>COPY finished.</summary>
    CopyDone = (byte)'c',

    /// <summary>COPY FROM STDIN starts.</summary>
    CopyInResponse = (byte)'G',

    /// <summary>COPY TO STDOUT starts.</summary>
    CopyOutResponse = (byte)'H',

    /// <summary>Streaming replication COPY starts.</summary>
    CopyBothResponse = (byte)'W',

    /// <summary>One result row.</summary>
    DataRow = (byte)'D',

    /// <summary>The query string was empty.</summary>
    EmptyQueryResponse = (byte)'I',

    /// <summary>An error.</summary>
    ErrorResponse = (byte)'E',

    /// <summary>Result of a fast-path function call.</summary>
    FunctionCallResponse = (byte)'V',

    /// <summary>The server does not support the requested minor version or protocol options.</summary>
    NegotiateProtocolVersion = (byte)'v',

    /// <summary>Execute returned no rows.</summary>
    NoData = (byte)'n',

    /// <summary>A notice or warning.</summary>
    NoticeResponse = (byte)'N',

    /// <summary>LISTEN/NOTIFY notification.</summary>
    NotificationResponse = (byte)'A',

    /// <summary>Parameter types of a statement.</summary>
    ParameterDescription = (byte)'t',

    /// <summary>A run-time parameter's value.</summary>
    ParameterStatus = (byte)'S',

    /// <summary>Parse finished.</summary>
    ParseComplete = (byte)'1',

    /// <summary>Execute stopped at its row limit.</summary>
    PortalSuspended = (byte)'s',

    /// <summary>Ready for a new query, with the transaction status.</summary>
    ReadyForQuery = (byte)'Z',

    /// <summary>Shape of the rows to come.</summary>
    RowDescription = (byte)'T',
}
