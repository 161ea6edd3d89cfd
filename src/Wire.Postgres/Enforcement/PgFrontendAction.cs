namespace Wire.Postgres.Enforcement;

/// <summary>What the client pump does with a message after <see cref="PgEnforcer.OnFrontendMessage"/>.</summary>
internal enum PgFrontendAction : byte
{
    /// <summary>Forward the client's bytes as they are.</summary>
    Forward,

    /// <summary>Drop it: the server would ignore it (after an error, until Sync).</summary>
    Drop,

    /// <summary>Send <see cref="PgEnforcer.WriteReplacement"/> instead: a message that fails on the server.</summary>
    Replace,

    /// <summary>Hold it until the review decides (<see cref="PgEnforcer.Resolve"/>).</summary>
    Review,

    /// <summary>Send <see cref="PgEnforcer.WriteInjected"/> first (Wire's own Describe), then the message as it is.</summary>
    InjectBefore,

    /// <summary>Look up <see cref="PgEnforcer.MissingNames"/> in the catalog, then hand the same message in again.</summary>
    NeedCatalog,
}
