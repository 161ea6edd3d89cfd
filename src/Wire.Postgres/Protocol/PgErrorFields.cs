using System.Text;

namespace Wire.Postgres.Protocol;

/// <summary>
/// The fields of an ErrorResponse or NoticeResponse that Wire needs for its own decisions and logs.
/// </summary>
/// <remarks>
/// <code>
/// { byte1 field code, cstring value }* | 0
/// </code>
/// https://www.postgresql.org/docs/current/protocol-error-fields.html
/// </remarks>
public readonly record struct PgErrorFields(string Severity, string SqlState, string Message)
{
    /// <summary>
    /// Decodes the body of an ErrorResponse/NoticeResponse. Lenient about unknown field codes (as the
    /// protocol requires); a missing field is reported as an empty string.
    /// </summary>
    public static PgErrorFields Parse(ReadOnlySpan<byte> body)
    {
        string severity = "", code = "", message = "";
        while (!body.IsEmpty && body[0] != 0)
        {
            byte field = body[0];
            body = body.Slice(1);
            int end = body.IndexOf((byte)0);
            if (end < 0)
            {
                break;
            }

            var value = body.Slice(0, end);
            switch (field)
            {
                case (byte)'V':
                    severity = Encoding.UTF8.GetString(value);
                    break;
                case (byte)'S' when severity.Length == 0:
                    severity = Encoding.UTF8.GetString(value);
                    break;
                case (byte)'C':
                    code = Encoding.UTF8.GetString(value);
                    break;
                case (byte)'M':
                    message = Encoding.UTF8.GetString(value);
                    break;
            }

            body = body.Slice(end + 1);
        }

        return new PgErrorFields(severity, code, message);
    }
}
