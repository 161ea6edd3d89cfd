namespace Wire.Enforcement.Policy;

/// <summary>The protocols Wire carries; rules name them in their <c>protocols</c> key.</summary>
public enum WireProtocol : byte
{
    /// <summary>PostgreSQL frontend/backend protocol 3.0 (config name <c>postgres</c>).</summary>
    Postgres,

    /// <summary>SSH 2.0 (config name <c>ssh</c>).</summary>
    Ssh,

    /// <summary>HTTP/1.1 (config name <c>http</c>).</summary>
    Http,
}

/// <summary>The protocols' names as config and recordings spell them, and as telemetry spells them.</summary>
internal static class WireProtocolNames
{
    /// <summary><c>postgres</c>, <c>ssh</c> or <c>http</c>.</summary>
    public static string Name(WireProtocol protocol) => protocol switch
    {
        WireProtocol.Postgres => "postgres",
        WireProtocol.Ssh => "ssh",
        _ => "http",
    };

    /// <summary>
    /// The OpenTelemetry <c>network.protocol.name</c> value (lower case, the protocol's common name): <c>postgresql</c>,
    /// <c>ssh</c> or <c>http</c>.
    /// </summary>
    public static string TelemetryName(WireProtocol protocol) => protocol switch
    {
        WireProtocol.Postgres => "postgresql",
        WireProtocol.Ssh => "ssh",
        _ => "http",
    };

    /// <summary>
    /// The <c>network.protocol.name</c> value for a listener's config section name (<c>postgres</c> becomes <c>postgresql</c>).
    /// </summary>
    public static string TelemetryName(string section) => section == "postgres" ? "postgresql" : section;
}
