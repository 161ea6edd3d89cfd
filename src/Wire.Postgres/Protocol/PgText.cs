using System.Text;

namespace Wire.Postgres.Protocol;

/// <summary>Text helpers shared by the codec.</summary>
internal static class PgText
{
    /// <summary>UTF-8 that throws on invalid bytes instead of substituting.</summary>
    public static readonly UTF8Encoding Utf8Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
