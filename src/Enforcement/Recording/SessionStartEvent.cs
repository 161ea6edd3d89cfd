using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>The first record of every recording (<c>session.start</c>): who connected, from where, to what.</summary>
/// <param name="Protocol">The protocol, for example <c>postgres</c>, <c>ssh</c> or <c>http</c>.</param>
/// <param name="Subject">The authenticated identity's subject.</param>
/// <param name="Groups">The identity's groups.</param>
/// <param name="Client">The client's address, for example <c>10.0.0.5:51234</c>.</param>
/// <param name="Target">The configured target's name.</param>
/// <param name="Tls">Whether the client connection uses TLS.</param>
public sealed record SessionStartEvent(string Protocol, string Subject, IReadOnlyList<string> Groups, string Client, string Target, bool Tls)
    : RecordEvent
{
    /// <summary>The <c>type</c> of this record.</summary>
    public const string TypeName = "session.start";

    /// <summary>The database the client asked for, when the protocol has one; omitted when null.</summary>
    public string? Database { get; init; }

    /// <summary>The user name the client gave, when the protocol has one; omitted when null.</summary>
    public string? User { get; init; }

    /// <summary>The id of the just-in-time grant that admitted the session, when its target requires one; omitted when null.</summary>
    public string? Grant { get; init; }

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("protocol", Protocol);
        writer.WriteString("subject", Subject);
        WriteStringArray(writer, "groups", Groups ?? []);
        writer.WriteString("client", Client);
        writer.WriteString("target", Target);
        writer.WriteBoolean("tls", Tls);
        if (Database is not null)
        {
            writer.WriteString("database", Database);
        }
        if (User is not null)
        {
            writer.WriteString("user", User);
        }
        if (Grant is not null)
        {
            writer.WriteString("grant", Grant);
        }
    }
}
