using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Wire.Testing;

/// <summary>
/// TLS version checks with the system's OpenSSL command line: <c>openssl s_client</c> asking for exactly one protocol
/// version (TLS 1.0 and 1.1 with <c>@SECLEVEL=0</c>, since Debian's OpenSSL 3 refuses to offer them otherwise), an
/// <c>openssl s_server</c> that speaks exactly one version (a target that offers only TLS 1.1), and a reader of the
/// versions a ClientHello offers.
/// </summary>
internal static class TlsProbe
{
    /// <summary>OpenSSL's flags for one protocol version.</summary>
    public static readonly string[] Versions = ["tls1", "tls1_1", "tls1_2", "tls1_3"];

    /// <summary>
    /// Runs <c>openssl s_client -brief</c> against 127.0.0.1:<paramref name="port"/> with only <paramref name="version"/> enabled
    /// (<c>tls1</c>, <c>tls1_1</c>, <c>tls1_2</c>, <c>tls1_3</c>); <paramref name="starttls"/> is, for example, <c>postgres</c>.
    /// Returns the version the handshake agreed on (<c>TLSv1.2</c>), or null when it failed, and what OpenSSL printed.
    /// </summary>
    public static async Task<(string? Agreed, string Output)> HandshakeAsync(int port, string version, string? starttls = null)
    {
        var arguments = new List<string>
        {
            "s_client", "-brief", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", "-" + version, "-cipher", "DEFAULT:@SECLEVEL=0",
        };
        if (starttls is not null)
        {
            arguments.AddRange(["-starttls", starttls]);
        }
        var (exit, output) = await RunAsync("openssl", arguments, TimeSpan.FromSeconds(15));
        var agreed = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Protocol version: ", StringComparison.Ordinal));
        return (exit == 0 && agreed is not null ? agreed["Protocol version: ".Length..] : null, output);
    }

    /// <summary>Runs a program (no shell) with empty standard input; its exit code and standard output and error together.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException(file + " did not start");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish within {timeout}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>
    /// Fails unless this machine's OpenSSL speaks TLS 1.1 when asked (an <c>s_server</c> and <c>s_client</c> at TLS 1.1
    /// agree), so that a TLS 1.1 handshake a test sees refused is refused by Wire.
    /// </summary>
    public static async Task AssertOpenSslSpeaksTls11Async(string directory, TestCertificates.IssuedCertificate certificate)
    {
        await using var legacy = await OpenSslServer.StartAsync(directory, certificate, "tls1_1");
        Assert.Equal("TLSv1.1", (await HandshakeAsync(legacy.Port, "tls1_1")).Agreed);
    }

    /// <summary>
    /// Fails unless the TLS listener on 127.0.0.1:<paramref name="port"/> refuses TLS 1.0 and 1.1 (with a protocol version
    /// alert, or no protocol in common) and agrees on TLS 1.2 and 1.3, one <see cref="HandshakeAsync"/> per version.
    /// </summary>
    public static async Task AssertAgreesOnlyOnTls12And13Async(int port, string? starttls = null)
    {
        var agreed = new Dictionary<string, string?>();
        foreach (string version in Versions)
        {
            var (result, output) = await HandshakeAsync(port, version, starttls);
            agreed[version] = result;
            Assert.True(result is not null || output.Contains("alert protocol version", StringComparison.Ordinal)
                || output.Contains("no protocols available", StringComparison.Ordinal), $"{version}: {output}");
        }
        Assert.Equal(
            new Dictionary<string, string?> { ["tls1"] = null, ["tls1_1"] = null, ["tls1_2"] = "TLSv1.2", ["tls1_3"] = "TLSv1.3" }, agreed);
    }

    /// <summary>
    /// Fails unless the ClientHello that starts <paramref name="fromClient"/> lists the versions it offers and they are TLS
    /// 1.2 and 1.3 only; <paramref name="who"/> names the client in the message.
    /// </summary>
    public static void AssertOffersOnlyTls12And13(ReadOnlySpan<byte> fromClient, string who)
    {
        var offered = OfferedVersions(fromClient);
        Assert.NotNull(offered);
        Assert.NotEmpty(offered);
        Assert.All(offered, v => Assert.True(v is 0x0303 or 0x0304, $"{who} offered TLS version 0x{v:x4}"));
    }

    /// <summary>
    /// The protocol versions a client offered in the ClientHello that starts <paramref name="fromClient"/> (a TLS connection's
    /// first bytes): the supported_versions extension (RFC 8446 §4.2.1) without GREASE values, as 0x0303 (TLS 1.2),
    /// 0x0304 (TLS 1.3) and so on. A ClientHello without that extension offers its legacy_version and everything below
    /// it down to the client's own minimum, which the hello does not say: then the result is null.
    /// </summary>
    public static IReadOnlyList<ushort>? OfferedVersions(ReadOnlySpan<byte> fromClient)
    {
        // TLSPlaintext: type 22 (handshake), legacy version, length; Handshake: type 1 (ClientHello), uint24 length.
        Assert.True(fromClient.Length > 9 && fromClient[0] == 22 && fromClient[5] == 1, "the client's first bytes are not a ClientHello");
        int recordLength = BinaryPrimitives.ReadUInt16BigEndian(fromClient[3..]);
        var hello = fromClient.Slice(9, Math.Min(recordLength - 4, fromClient.Length - 9));
        int at = 2 + 32; // legacy_version, random
        at += 1 + hello[at]; // legacy_session_id
        at += 2 + BinaryPrimitives.ReadUInt16BigEndian(hello[at..]); // cipher_suites
        at += 1 + hello[at]; // legacy_compression_methods
        int end = at + 2 + BinaryPrimitives.ReadUInt16BigEndian(hello[at..]);
        at += 2;
        while (at + 4 <= end)
        {
            int type = BinaryPrimitives.ReadUInt16BigEndian(hello[at..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(hello[(at + 2)..]);
            if (type == 0x002b)
            {
                var list = hello.Slice(at + 5, hello[at + 4]);
                var versions = new List<ushort>();
                for (int i = 0; i + 1 < list.Length; i += 2)
                {
                    ushort version = BinaryPrimitives.ReadUInt16BigEndian(list[i..]);
                    if ((version & 0x0f0f) != 0x0a0a)
                    {
                        versions.Add(version);
                    }
                }
                return versions;
            }
            at += 4 + length;
        }
        return null;
    }

    /// <summary>
    /// A greeting for <see cref="TcpTap"/> in front of a plain TLS server: answers PostgreSQL's SSLRequest with <c>S</c>, so
    /// Wire (as a PostgreSQL client) starts its TLS handshake, which the tap then relays to the TLS server.
    /// </summary>
    public static async Task AnswerSslRequestAsync(NetworkStream client, CancellationToken ct)
    {
        var request = new byte[8];
        await client.ReadExactlyAsync(request, ct);
        Assert.Equal(new byte[] { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f }, request);
        await client.WriteAsync("S"u8.ToArray(), ct);
    }

    /// <summary>Whether the TLS records in <paramref name="stream"/> include application data (content type 23).</summary>
    public static bool HasApplicationData(ReadOnlySpan<byte> stream)
    {
        int at = 0;
        while (at + 5 <= stream.Length)
        {
            if (stream[at] == 23)
            {
                return true;
            }
            at += 5 + BinaryPrimitives.ReadUInt16BigEndian(stream[(at + 3)..]);
        }
        return false;
    }

    /// <summary>
    /// An environment for a child process whose OpenSSL allows TLS 1.0 and weak ciphers by default (<c>OPENSSL_CONF</c>
    /// with <c>MinProtocol = TLSv1</c>, <c>@SECLEVEL=0</c>): under it, only code that pins its protocol versions itself
    /// still refuses TLS 1.0 and 1.1, so a test run with it fails when a pin is dropped. The file is written to
    /// <paramref name="directory"/>.
    /// </summary>
    public static IReadOnlyDictionary<string, string> PermissiveOpenSsl(string directory)
    {
        string file = Path.Combine(directory, "openssl-permissive.cnf");
        File.WriteAllText(file, """
            openssl_conf = openssl_init
            [openssl_init]
            ssl_conf = ssl_sect
            [ssl_sect]
            system_default = system_default_sect
            [system_default_sect]
            MinProtocol = TLSv1
            CipherString = DEFAULT:@SECLEVEL=0

            """);
        return new Dictionary<string, string> { ["OPENSSL_CONF"] = file };
    }

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// <c>openssl s_server -www</c> on 127.0.0.1 with only one protocol version enabled (any version, at <c>@SECLEVEL=0</c>),
/// answering every GET with a status page: a TLS target that offers, for example, only TLS 1.1.
/// </summary>
internal sealed class OpenSslServer : IAsyncDisposable
{
    private readonly Process _process;

    private OpenSslServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts the server with <paramref name="certificate"/> (its PEM and key written to <paramref name="directory"/>).</summary>
    public static async Task<OpenSslServer> StartAsync(string directory, TestCertificates.IssuedCertificate certificate, string version)
    {
        string cert = Path.Combine(directory, $"s_server-{version}.crt");
        string key = Path.Combine(directory, $"s_server-{version}.key");
        await File.WriteAllTextAsync(cert, certificate.CertificatePem + "\n");
        await File.WriteAllTextAsync(key, certificate.PrivateKeyPem + "\n");
        int port = TlsProbe.FreePort();
        var info = new ProcessStartInfo("openssl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["s_server", "-accept", $"127.0.0.1:{port}", "-cert", cert, "-key", key, "-" + version,
            "-cipher", "DEFAULT:@SECLEVEL=0", "-www", "-quiet"])
        {
            info.ArgumentList.Add(argument);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("openssl s_server did not start");
        var said = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => said.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => said.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new OpenSslServer(process, port);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException("openssl s_server did not listen: " + string.Join('\n', said));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
