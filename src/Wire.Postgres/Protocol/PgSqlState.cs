namespace Wire.Postgres.Protocol;

/// <summary>The SQLSTATE codes Wire itself answers with (DESIGN.md §4 error table).</summary>
public static class PgSqlState
{
    /// <summary>Denied by rule (insufficient_privilege).</summary>
    public const string InsufficientPrivilege = "42501";

    /// <summary>Review timed out or cancelled; a cancelled query (query_canceled).</summary>
    public const string QueryCanceled = "57014";

    /// <summary>Bad or expired token (invalid_password).</summary>
    public const string InvalidPassword = "28P01";

    /// <summary>TLS required, cleartext refused, no valid grant (invalid_authorization_specification).</summary>
    public const string InvalidAuthorizationSpecification = "28000";

    /// <summary>Unknown target (invalid_catalog_name).</summary>
    public const string InvalidCatalogName = "3D000";

    /// <summary>Upstream unreachable (connection_failure).</summary>
    public const string ConnectionFailure = "08006";

    /// <summary>Malformed input (protocol_violation).</summary>
    public const string ProtocolViolation = "08P01";

    /// <summary>Session ended by an administrator or grant expiry (admin_shutdown).</summary>
    public const string AdminShutdown = "57P01";

    /// <summary>A session idle for longer than its idle timeout (idle_session_timeout).</summary>
    public const string IdleSessionTimeout = "57P05";

    /// <summary>Too many connections (in total, or for one identity).</summary>
    public const string TooManyConnections = "53300";

    /// <summary>Recorder or approval broker failure (system_error).</summary>
    public const string SystemError = "58000";

    /// <summary>Unsupported feature (feature_not_supported).</summary>
    public const string FeatureNotSupported = "0A000";
}
