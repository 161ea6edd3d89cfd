using System.Text;
using Wire.Enforcement;

namespace Wire.Postgres.Protocol;

/// <summary>
/// A decoded StartupMessage: protocol version and parameters.
/// </summary>
/// <remarks>
/// <code>
/// int32 length | int32 version (major &lt;&lt; 16 | minor) | { cstring name, cstring value }* | 0
/// </code>
/// https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-STARTUPMESSAGE
/// Parsed once per connection, so it may allocate.
/// </remarks>
public sealed class PgStartupMessage
{
    private PgStartupMessage(int version, List<KeyValuePair<string, string>> parameters)
    {
        Version = version;
        Parameters = parameters;
    }

    /// <summary>The requested protocol version.</summary>
    public int Version { get; }

    /// <summary>The major protocol version.</summary>
    public int MajorVersion => Version >> 16;

    /// <summary>The minor protocol version.</summary>
    public int MinorVersion => Version & 0xFFFF;

    /// <summary>The parameters in the order the client sent them.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; }

    /// <summary>The value of a parameter, or null.</summary>
    public string? this[string name]
    {
        get
        {
            foreach (var (key, value) in Parameters)
            {
                if (key == name)
                {
                    return value;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Parses the part of a StartupMessage after the length and version fields.
    /// Throws <see cref="ProtocolViolationException"/> when it is not a list of NUL-terminated pairs
    /// ending with a single NUL, when a name repeats, or when a string is not UTF-8.
    /// </summary>
    public static PgStartupMessage Parse(int version, ReadOnlySpan<byte> parameterBytes)
    {
        var parameters = new List<KeyValuePair<string, string>>();
        var span = parameterBytes;
        while (true)
        {
            if (span.IsEmpty)
            {
                ProtocolViolationException.Throw("startup packet is missing its terminator");
            }

            if (span[0] == 0)
            {
                if (span.Length != 1)
                {
                    ProtocolViolationException.Throw("startup packet has bytes after its terminator");
                }

                break;
            }

            string name = ReadCString(ref span);
            if (span.IsEmpty)
            {
                ProtocolViolationException.Throw("startup packet parameter has no value");
            }

            string value = ReadCString(ref span);
            foreach (var (existing, _) in parameters)
            {
                if (existing == name)
                {
                    ProtocolViolationException.Throw("startup packet repeats a parameter");
                }
            }

            parameters.Add(new(name, value));
        }

        return new PgStartupMessage(version, parameters);
    }

    private static string ReadCString(ref ReadOnlySpan<byte> span)
    {
        int end = span.IndexOf((byte)0);
        if (end < 0)
        {
            ProtocolViolationException.Throw("startup packet string is not terminated");
        }

        string value;
        try
        {
            value = PgText.Utf8Strict.GetString(span.Slice(0, end));
        }
        catch (DecoderFallbackException ex)
        {
            throw new ProtocolViolationException("startup packet string is not valid UTF-8", ex);
        }

        span = span.Slice(end + 1);
        return value;
    }
}
