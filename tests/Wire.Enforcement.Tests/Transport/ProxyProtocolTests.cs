using System.Net;
using System.Text;
using Wire.Enforcement.Transport;
using static Wire.Enforcement.Transport.ProxyProtocol;

namespace Wire.Enforcement.Tests.Transport;

/// <summary>The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) as a TCP load balancer sends it.</summary>
public sealed class ProxyProtocolTests
{
    private static byte[] V2(byte command, byte family, byte[] addresses)
    {
        byte[] header = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, (byte)(0x20 | command), family,
            (byte)(addresses.Length >> 8), (byte)addresses.Length];
        return [.. header, .. addresses];
    }

    private static byte[] V2Ipv4(string source, int sourcePort, byte[]? tlvs = null) =>
        V2(1, 0x11, [.. IPAddress.Parse(source).GetAddressBytes(), 127, 0, 0, 1, (byte)(sourcePort >> 8), (byte)sourcePort, 0x19, 0x00, .. tlvs ?? []]);

    public static TheoryData<string, string> V1Headers => new()
    {
        { "PROXY TCP4 203.0.113.7 10.0.0.1 40000 6432\r\n", "203.0.113.7:40000" },
        { "PROXY TCP6 2001:db8::7 2001:db8::1 40000 6432\r\n", "[2001:db8::7]:40000" },
        { "PROXY UNKNOWN\r\n", "" },
        { "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", "" },
    };

    [Theory]
    [MemberData(nameof(V1Headers))]
    public void VersionOneGivesTheClientAndTheHeadersLength(string header, string client)
    {
        byte[] bytes = [.. Encoding.ASCII.GetBytes(header), .. "Q\0\0\0"u8]; // the client's own bytes follow
        Assert.Equal(ParseStatus.Complete, TryParse(bytes, out int length, out var declared, out _));
        Assert.Equal(header.Length, length);
        Assert.Equal(client, declared?.ToString() ?? "");
    }

    [Fact]
    public void VersionTwoGivesTheClientAndSkipsTlvs()
    {
        var header = V2Ipv4("198.51.100.20", 51000, tlvs: [0x04, 0x00, 0x02, 0xAB, 0xCD]);
        Assert.Equal(ParseStatus.Complete, TryParse([.. header, 0x16, 0x03], out int length, out var client, out _));
        Assert.Equal(header.Length, length);
        Assert.Equal("198.51.100.20:51000", client!.ToString());

        byte[] ipv6 = [.. IPAddress.Parse("2001:db8::9").GetAddressBytes(), .. IPAddress.IPv6Loopback.GetAddressBytes(), 0xC3, 0x50, 0x19, 0x00];
        Assert.Equal(ParseStatus.Complete, TryParse(V2(1, 0x21, ipv6), out _, out client, out _));
        Assert.Equal("[2001:db8::9]:50000", client!.ToString());

        // LOCAL: the balancer's own health check; no client is declared.
        Assert.Equal(ParseStatus.Complete, TryParse(V2(0, 0x00, []), out length, out client, out _));
        Assert.Equal(16, length);
        Assert.Null(client);
    }

    [Fact]
    public void EveryShorterPrefixOfAHeaderAsksForMore()
    {
        foreach (var header in new[] { Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 10.0.0.1 40000 6432\r\n"), V2Ipv4("203.0.113.7", 1) })
        {
            for (int n = 0; n < header.Length; n++)
            {
                Assert.Equal(ParseStatus.NeedMore, TryParse(header.AsSpan(0, n), out _, out _, out _));
            }
        }
    }

    public static TheoryData<byte[]> Invalid => new()
    {
        "\0\0\0\x08\x04\xd2\x16\x2f"u8.ToArray(),                                    // a PostgreSQL SSLRequest: no header
        "GET / HTTP/1.1\r\n"u8.ToArray(),                                             // an HTTP request: no header
        "SSH-2.0-OpenSSH_9.2\r\n"u8.ToArray(),                                        // an SSH version line: no header
        "PROXY TCP4 203.0.113.7 10.0.0.1 40000 6432\n"u8.ToArray(),                   // LF without CR
        "PROXY TCP4 203.0.113.7 10.0.0.1 70000 6432\r\n"u8.ToArray(),                 // port out of range
        "PROXY TCP4 203.0.113.7 10.0.0.1 040000 6432\r\n"u8.ToArray(),                // leading zero
        "PROXY TCP4 2001:db8::7 10.0.0.1 40000 6432\r\n"u8.ToArray(),                 // family mismatch
        "PROXY TCP4 203.0.113.7 10.0.0.1 40000\r\n"u8.ToArray(),                      // a field missing
        "PROXY UDP4 203.0.113.7 10.0.0.1 40000 6432\r\n"u8.ToArray(),                 // not TCP
        Encoding.ASCII.GetBytes("PROXY TCP4 " + new string('1', 120)),               // no CRLF within 107 bytes
        new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x31, 0x11, 0x00, 0x0C }, // version 3
        new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x22, 0x11, 0x00, 0x0C }, // command 2
        new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x12, 0x00, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, // UDP
        new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0xFF, 0xFF }, // 64 KiB of addresses
        new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4 }, // addresses too short
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void AnythingElseIsRefusedWithAReason(byte[] bytes)
    {
        Assert.Equal(ParseStatus.Invalid, TryParse(bytes, out _, out var client, out var error));
        Assert.Null(client);
        Assert.False(string.IsNullOrEmpty(error));
    }
}
