namespace Wire.Fuzz.Targets;

/// <summary>
/// The tagged message types of protocol 3.0, listed here from the specification rather than taken
/// from the reader, so generators and the reference model do not inherit its mistakes.
/// https://www.postgresql.org/docs/current/protocol-message-formats.html
/// </summary>
public static class PgTypes
{
    /// <summary>
    /// Bind, Close, CopyData, CopyDone, CopyFail, Describe, Execute, Flush, FunctionCall,
    /// password/SASL/GSS responses, Parse, Query, Sync, Terminate.
    /// </summary>
    public static IReadOnlyList<byte> Frontend { get; } = "BCdcfDEHFpPQSX"u8.ToArray();

    /// <summary>
    /// Authentication, BackendKeyData, BindComplete, CloseComplete, CommandComplete, CopyData, CopyDone,
    /// CopyIn/Out/BothResponse, DataRow, EmptyQueryResponse, ErrorResponse, FunctionCallResponse,
    /// NegotiateProtocolVersion, NoData, NoticeResponse, NotificationResponse, ParameterDescription,
    /// ParameterStatus, ParseComplete, PortalSuspended, ReadyForQuery, RowDescription.
    /// </summary>
    public static IReadOnlyList<byte> Backend { get; } = "RK23CdcGHWDIEVvnNAtS1sZT"u8.ToArray();
}
