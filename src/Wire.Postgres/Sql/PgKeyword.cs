namespace Wire.Postgres.Sql;

/// <summary>
/// The SQL words the classifier acts on. A member's name, lower-cased, is the keyword's spelling: <see cref="PgKeywords"/>
/// builds its lookup table from the names, so adding a member is all it takes to recognise a new word.
/// </summary>
internal enum PgKeyword : byte
{
    /// <summary>Not a word the classifier knows (or not a word at all).</summary>
    None = 0,

    /// <summary><c>ABORT</c></summary>
    Abort,

    /// <summary><c>AGGREGATE</c></summary>
    Aggregate,

    /// <summary><c>ALL</c></summary>
    All,

    /// <summary><c>ALSO</c></summary>
    Also,

    /// <summary><c>ALTER</c></summary>
    Alter,

    /// <summary><c>ANALYSE</c></summary>
    Analyse,

    /// <summary><c>ANALYZE</c></summary>
    Analyze,

    /// <summary><c>AND</c></summary>
    And,

    /// <summary><c>ANY</c></summary>
    Any,

    /// <summary><c>ARRAY</c></summary>
    Array,

    /// <summary><c>AS</c></summary>
    As,

    /// <summary><c>ASC</c></summary>
    Asc,

    /// <summary><c>AT</c></summary>
    At,

    /// <summary><c>ATOMIC</c></summary>
    Atomic,

    /// <summary><c>ATTACH</c></summary>
    Attach,

    /// <summary><c>BEGIN</c></summary>
    Begin,

    /// <summary><c>BETWEEN</c></summary>
    Between,

    /// <summary><c>BINARY</c></summary>
    Binary,

    /// <summary><c>BIT</c></summary>
    Bit,

    /// <summary><c>BPCHAR</c></summary>
    Bpchar,

    /// <summary><c>BY</c></summary>
    By,

    /// <summary><c>CALL</c></summary>
    Call,

    /// <summary><c>CASCADE</c></summary>
    Cascade,

    /// <summary><c>CASE</c></summary>
    Case,

    /// <summary><c>CAST</c></summary>
    Cast,

    /// <summary><c>CHAR</c></summary>
    Char,

    /// <summary><c>CHARACTER</c></summary>
    Character,

    /// <summary><c>CHECK</c></summary>
    Check,

    /// <summary><c>CHECKPOINT</c></summary>
    Checkpoint,

    /// <summary><c>CLOSE</c></summary>
    Close,

    /// <summary><c>CLUSTER</c></summary>
    Cluster,

    /// <summary><c>COALESCE</c></summary>
    Coalesce,

    /// <summary><c>COLLATION</c></summary>
    Collation,

    /// <summary><c>COLUMN</c></summary>
    Column,

    /// <summary><c>COMMENT</c></summary>
    Comment,

    /// <summary><c>COMMIT</c></summary>
    Commit,

    /// <summary><c>CONCURRENTLY</c></summary>
    Concurrently,

    /// <summary><c>CONFIGURATION</c></summary>
    Configuration,

    /// <summary><c>CONFLICT</c></summary>
    Conflict,

    /// <summary><c>CONSTRAINT</c></summary>
    Constraint,

    /// <summary><c>COPY</c></summary>
    Copy,

    /// <summary><c>CREATE</c></summary>
    Create,

    /// <summary><c>CROSS</c></summary>
    Cross,

    /// <summary><c>CUBE</c></summary>
    Cube,

    /// <summary><c>CURRENT</c></summary>
    Current,

    /// <summary><c>CURSOR</c></summary>
    Cursor,

    /// <summary><c>CYCLE</c></summary>
    Cycle,

    /// <summary><c>DATABASE</c></summary>
    Database,

    /// <summary><c>DEALLOCATE</c></summary>
    Deallocate,

    /// <summary><c>DEC</c></summary>
    Dec,

    /// <summary><c>DECIMAL</c></summary>
    Decimal,

    /// <summary><c>DECLARE</c></summary>
    Declare,

    /// <summary><c>DEFAULT</c></summary>
    Default,

    /// <summary><c>DELETE</c></summary>
    Delete,

    /// <summary><c>DESC</c></summary>
    Desc,

    /// <summary><c>DETACH</c></summary>
    Detach,

    /// <summary><c>DICTIONARY</c></summary>
    Dictionary,

    /// <summary><c>DISCARD</c></summary>
    Discard,

    /// <summary><c>DISTINCT</c></summary>
    Distinct,

    /// <summary><c>DO</c></summary>
    Do,

    /// <summary><c>DOMAIN</c></summary>
    Domain,

    /// <summary><c>DROP</c></summary>
    Drop,

    /// <summary><c>ELSE</c></summary>
    Else,

    /// <summary><c>END</c></summary>
    End,

    /// <summary><c>ENUM</c></summary>
    Enum,

    /// <summary><c>ESCAPE</c></summary>
    Escape,

    /// <summary><c>EXCEPT</c></summary>
    Except,

    /// <summary><c>EXCLUDE</c></summary>
    Exclude,

    /// <summary><c>EXECUTE</c></summary>
    Execute,

    /// <summary><c>EXISTS</c></summary>
    Exists,

    /// <summary><c>EXPLAIN</c></summary>
    Explain,

    /// <summary><c>FALSE</c></summary>
    False,

    /// <summary><c>FETCH</c></summary>
    Fetch,

    /// <summary><c>FILTER</c></summary>
    Filter,

    /// <summary><c>FIRST</c></summary>
    First,

    /// <summary><c>FLOAT</c></summary>
    Float,

    /// <summary><c>FOR</c></summary>
    For,

    /// <summary><c>FOREIGN</c></summary>
    Foreign,

    /// <summary><c>FREEZE</c></summary>
    Freeze,

    /// <summary><c>FROM</c></summary>
    From,

    /// <summary><c>FULL</c></summary>
    Full,

    /// <summary><c>FUNCTION</c></summary>
    Function,

    /// <summary><c>GLOBAL</c></summary>
    Global,

    /// <summary><c>GRANT</c></summary>
    Grant,

    /// <summary><c>GREATEST</c></summary>
    Greatest,

    /// <summary><c>GROUP</c></summary>
    Group,

    /// <summary><c>GROUPING</c></summary>
    Grouping,

    /// <summary><c>HASH</c></summary>
    Hash,

    /// <summary><c>HAVING</c></summary>
    Having,

    /// <summary><c>IDENTITY</c></summary>
    Identity,

    /// <summary><c>IF</c></summary>
    If,

    /// <summary><c>ILIKE</c></summary>
    Ilike,

    /// <summary><c>IMPORT</c></summary>
    Import,

    /// <summary><c>IN</c></summary>
    In,

    /// <summary><c>INCLUDE</c></summary>
    Include,

    /// <summary><c>INDEX</c></summary>
    Index,

    /// <summary><c>INHERITS</c></summary>
    Inherits,

    /// <summary><c>INNER</c></summary>
    Inner,

    /// <summary><c>INSERT</c></summary>
    Insert,

    /// <summary><c>INSTEAD</c></summary>
    Instead,

    /// <summary><c>INTERSECT</c></summary>
    Intersect,

    /// <summary><c>INTERVAL</c></summary>
    Interval,

    /// <summary><c>INTO</c></summary>
    Into,

    /// <summary><c>IS</c></summary>
    Is,

    /// <summary><c>ISNULL</c></summary>
    Isnull,

    /// <summary><c>JOIN</c></summary>
    Join,

    /// <summary><c>KEY</c></summary>
    Key,

    /// <summary><c>LANGUAGE</c></summary>
    Language,

    /// <summary><c>LARGE</c></summary>
    Large,

    /// <summary><c>LAST</c></summary>
    Last,

    /// <summary><c>LATERAL</c></summary>
    Lateral,

    /// <summary><c>LEAST</c></summary>
    Least,

    /// <summary><c>LEFT</c></summary>
    Left,

    /// <summary><c>LIKE</c></summary>
    Like,

    /// <summary><c>LIMIT</c></summary>
    Limit,

    /// <summary><c>LIST</c></summary>
    List,

    /// <summary><c>LISTEN</c></summary>
    Listen,

    /// <summary><c>LOAD</c></summary>
    Load,

    /// <summary><c>LOCAL</c></summary>
    Local,

    /// <summary><c>LOCK</c></summary>
    Lock,

    /// <summary><c>MATERIALIZED</c></summary>
    Materialized,

    /// <summary><c>MERGE</c></summary>
    Merge,

    /// <summary><c>MOVE</c></summary>
    Move,

    /// <summary><c>NATURAL</c></summary>
    Natural,

    /// <summary><c>NCHAR</c></summary>
    Nchar,

    /// <summary><c>NO</c></summary>
    No,

    /// <summary><c>NOT</c></summary>
    Not,

    /// <summary><c>NOTHING</c></summary>
    Nothing,

    /// <summary><c>NOTIFY</c></summary>
    Notify,

    /// <summary><c>NOTNULL</c></summary>
    Notnull,

    /// <summary><c>NULL</c></summary>
    Null,

    /// <summary><c>NULLIF</c></summary>
    Nullif,

    /// <summary><c>NULLS</c></summary>
    Nulls,

    /// <summary><c>NUMERIC</c></summary>
    Numeric,

    /// <summary><c>OF</c></summary>
    Of,

    /// <summary><c>OFF</c></summary>
    Off,

    /// <summary><c>OFFSET</c></summary>
    Offset,

    /// <summary><c>ON</c></summary>
    On,

    /// <summary><c>ONLY</c></summary>
    Only,

    /// <summary><c>OPERATOR</c></summary>
    Operator,

    /// <summary><c>OPTIONS</c></summary>
    Options,

    /// <summary><c>OR</c></summary>
    Or,

    /// <summary><c>ORDER</c></summary>
    Order,

    /// <summary><c>OUTER</c></summary>
    Outer,

    /// <summary><c>OVER</c></summary>
    Over,

    /// <summary><c>OVERLAPS</c></summary>
    Overlaps,

    /// <summary><c>OVERRIDING</c></summary>
    Overriding,

    /// <summary><c>PARAMETER</c></summary>
    Parameter,

    /// <summary><c>PARSER</c></summary>
    Parser,

    /// <summary><c>PARTITION</c></summary>
    Partition,

    /// <summary><c>POLICY</c></summary>
    Policy,

    /// <summary><c>PREPARE</c></summary>
    Prepare,

    /// <summary><c>PREPARED</c></summary>
    Prepared,

    /// <summary><c>PRIMARY</c></summary>
    Primary,

    /// <summary><c>PROCEDURE</c></summary>
    Procedure,

    /// <summary><c>PROGRAM</c></summary>
    Program,

    /// <summary><c>RANGE</c></summary>
    Range,

    /// <summary><c>RECURSIVE</c></summary>
    Recursive,

    /// <summary><c>REFERENCES</c></summary>
    References,

    /// <summary><c>REFRESH</c></summary>
    Refresh,

    /// <summary><c>REINDEX</c></summary>
    Reindex,

    /// <summary><c>RELEASE</c></summary>
    Release,

    /// <summary><c>REPEATABLE</c></summary>
    Repeatable,

    /// <summary><c>REPLACE</c></summary>
    Replace,

    /// <summary><c>RESET</c></summary>
    Reset,

    /// <summary><c>RESTRICT</c></summary>
    Restrict,

    /// <summary><c>RETURN</c></summary>
    Return,

    /// <summary><c>RETURNING</c></summary>
    Returning,

    /// <summary><c>REVOKE</c></summary>
    Revoke,

    /// <summary><c>RIGHT</c></summary>
    Right,

    /// <summary><c>ROLLBACK</c></summary>
    Rollback,

    /// <summary><c>ROLLUP</c></summary>
    Rollup,

    /// <summary><c>ROUTINE</c></summary>
    Routine,

    /// <summary><c>ROW</c></summary>
    Row,

    /// <summary><c>ROWS</c></summary>
    Rows,

    /// <summary><c>RULE</c></summary>
    Rule,

    /// <summary><c>SAVEPOINT</c></summary>
    Savepoint,

    /// <summary><c>SCHEMA</c></summary>
    Schema,

    /// <summary><c>SEARCH</c></summary>
    Search,

    /// <summary><c>SELECT</c></summary>
    Select,

    /// <summary><c>SEQUENCE</c></summary>
    Sequence,

    /// <summary><c>SET</c></summary>
    Set,

    /// <summary><c>SETS</c></summary>
    Sets,

    /// <summary><c>SHOW</c></summary>
    Show,

    /// <summary><c>SIMILAR</c></summary>
    Similar,

    /// <summary><c>SOME</c></summary>
    Some,

    /// <summary><c>START</c></summary>
    Start,

    /// <summary><c>STATISTICS</c></summary>
    Statistics,

    /// <summary><c>STDIN</c></summary>
    Stdin,

    /// <summary><c>STDOUT</c></summary>
    Stdout,

    /// <summary><c>SYMMETRIC</c></summary>
    Symmetric,

    /// <summary><c>TABLE</c></summary>
    Table,

    /// <summary><c>TABLESAMPLE</c></summary>
    Tablesample,

    /// <summary><c>TABLESPACE</c></summary>
    Tablespace,

    /// <summary><c>TEMP</c></summary>
    Temp,

    /// <summary><c>TEMPLATE</c></summary>
    Template,

    /// <summary><c>TEMPORARY</c></summary>
    Temporary,

    /// <summary><c>THEN</c></summary>
    Then,

    /// <summary><c>TIME</c></summary>
    Time,

    /// <summary><c>TIMESTAMP</c></summary>
    Timestamp,

    /// <summary><c>TIMESTAMPTZ</c></summary>
    Timestamptz,

    /// <summary><c>TIMETZ</c></summary>
    Timetz,

    /// <summary><c>TO</c></summary>
    To,

    /// <summary><c>TRANSACTION</c></summary>
    Transaction,

    /// <summary><c>TRIGGER</c></summary>
    Trigger,

    /// <summary><c>TRUE</c></summary>
    True,

    /// <summary><c>TRUNCATE</c></summary>
    Truncate,

    /// <summary><c>TYPE</c></summary>
    Type,

    /// <summary><c>UESCAPE</c></summary>
    Uescape,

    /// <summary><c>UNION</c></summary>
    Union,

    /// <summary><c>UNIQUE</c></summary>
    Unique,

    /// <summary><c>UNKNOWN</c></summary>
    Unknown,

    /// <summary><c>UNLISTEN</c></summary>
    Unlisten,

    /// <summary><c>UNLOGGED</c></summary>
    Unlogged,

    /// <summary><c>UPDATE</c></summary>
    Update,

    /// <summary><c>USING</c></summary>
    Using,

    /// <summary><c>VACUUM</c></summary>
    Vacuum,

    /// <summary><c>VALUES</c></summary>
    Values,

    /// <summary><c>VARBIT</c></summary>
    Varbit,

    /// <summary><c>VARCHAR</c></summary>
    Varchar,

    /// <summary><c>VARYING</c></summary>
    Varying,

    /// <summary><c>VERBOSE</c></summary>
    Verbose,

    /// <summary><c>VIEW</c></summary>
    View,

    /// <summary><c>WHEN</c></summary>
    When,

    /// <summary><c>WHERE</c></summary>
    Where,

    /// <summary><c>WINDOW</c></summary>
    Window,

    /// <summary><c>WITH</c></summary>
    With,

    /// <summary><c>WITHIN</c></summary>
    Within,

    /// <summary><c>WORK</c></summary>
    Work,

    /// <summary><c>ZONE</c></summary>
    Zone,
}
