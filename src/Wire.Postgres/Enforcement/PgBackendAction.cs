namespace Wire.Postgres.Enforcement;

/// <summary>What the server pump does with a response after <see cref="PgEnforcer.OnBackendMessage"/>.</summary>
internal enum PgBackendAction : byte
{
    /// <summary>Forward the server's bytes as they are.</summary>
    Forward,

    /// <summary>Send <see cref="PgEnforcer.WriteBackendReplacement"/> instead: Wire's own error for a message it replaced.</summary>
    Replace,

    /// <summary>The session switched to a client encoding Wire cannot read safely: end it (0A000).</summary>
    UnsupportedEncoding,

    /// <summary>Drop it: the answer to a message Wire sent itself.</summary>
    Drop,

    /// <summary>Look up <see cref="PgEnforcer.MissingOids"/> in the catalog, then hand the same message in again.</summary>
    NeedCatalog,
}
