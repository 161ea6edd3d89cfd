namespace Wire.Postgres.Protocol;

/// <summary>
/// The 32-bit code that follows the length of an untagged startup packet: a protocol version
/// (major in the high 16 bits) or one of the special request codes.
/// </summary>
internal static class PgStartupCode
{
    /// <summary>Protocol 3.0.</summary>
    public const int Protocol30 = 3 << 16;

    /// <summary>SSLRequest: 1234.5679.</summary>
    public const int SslRequest = (1234 << 16) | 5679;

    /// <summary>GSSENCRequest: 1234.5680.</summary>
    public const int GssEncRequest = (1234 << 16) | 5680;

    /// <summary>CancelRequest: 1234.5678.</summary>
    public const int CancelRequest = (1234 << 16) | 5678;

    /// <summary>Largest startup packet PostgreSQL itself accepts (MAX_STARTUP_PACKET_LENGTH).</summary>
    public const int MaxStartupPacketLength = 10_000;
}
