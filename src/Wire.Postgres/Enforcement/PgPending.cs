namespace Wire.Postgres.Enforcement;

/// <summary>What the server will answer next, in the order the client's messages were forwarded.</summary>
internal enum PgPendingKind : byte
{
    /// <summary>A simple Query: responses until ReadyForQuery.</summary>
    Query,

    /// <summary>A FunctionCall: FunctionCallResponse (or an error), then ReadyForQuery.</summary>
    FunctionCall,

    /// <summary>Wire replaced a denied Query or FunctionCall with one that fails: its error is swapped, then ReadyForQuery.</summary>
    DeniedQuery,

    /// <summary>Parse: ParseComplete or an error.</summary>
    Parse,

    /// <summary>Bind: BindComplete or an error.</summary>
    Bind,

    /// <summary>Describe of a statement: ParameterDescription, then RowDescription or NoData.</summary>
    DescribeStatement,

    /// <summary>Describe of a portal: RowDescription or NoData.</summary>
    DescribePortal,

    /// <summary>Execute: rows, then CommandComplete, EmptyQueryResponse or PortalSuspended.</summary>
    Execute,

    /// <summary>Wire replaced a denied Execute with one that fails: its error is swapped.</summary>
    DeniedExecute,

    /// <summary>Close of a statement or portal: CloseComplete.</summary>
    Close,

    /// <summary>Sync: ReadyForQuery.</summary>
    Sync,

    /// <summary>Wire's own Describe of a portal about to run: its RowDescription or NoData is kept, not forwarded.</summary>
    WireDescribePortal,
}

/// <summary>One expected response. <see cref="Name"/> and <see cref="Definition"/> are set for Parse, Bind and Close.</summary>
internal struct PgPending
{
    public PgPendingKind Kind;

    /// <summary>For Close: whether a portal (true) or statement is closed.</summary>
    public bool Portal;

    public string? Name;

    public PgPrepared? Definition;

    /// <summary>For Query and Execute: the statements Wire forwarded, and how many have completed.</summary>
    public PgPrepared? Statements;

    /// <summary>For Query and Execute: per statement, the definition a PREPARE or DECLARE in it registered.</summary>
    public PgDefinitionChange?[]? Changes;

    public int Completed;

    /// <summary>For Query and Execute: when it was forwarded (a <see cref="TimeProvider"/> timestamp), for the result's duration.</summary>
    public long Started;

    /// <summary>For Query and Execute: whether expression columns of its results are masked whole (it computes with masked data).</summary>
    public bool Tainted;

    /// <summary>For Bind: the statement bound, and the result format codes asked for (Int16 count, then the codes).</summary>
    public string? StatementName;

    public byte[]? ResultFormats;

    /// <summary>For denied messages: the SQLSTATE and message that replace the server's error.</summary>
    public string? SqlState;

    public string? Message;
}
