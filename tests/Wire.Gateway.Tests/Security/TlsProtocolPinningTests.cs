using System.Text.RegularExpressions;

namespace Wire.Gateway.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md): every TLS handshake Wire makes or accepts on a data path pins the protocol
/// versions to TLS 1.2 and 1.3 in code, not by the operating system's OpenSSL policy (which another distribution or
/// an <c>openssl.cnf</c> can loosen). A source check over <c>src/</c>: each <c>SslServerAuthenticationOptions</c> and
/// <c>SslClientAuthenticationOptions</c> initializer sets <c>EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13</c>,
/// and no older protocol is named anywhere. The handshakes themselves are tested against OpenSSL in
/// Wire.Postgres.Tests' and Wire.Http.Tests' <c>*TlsVersionTests</c>.
/// </summary>
public sealed partial class TlsProtocolPinningTests
{
    [Fact]
    public void Every_tls_options_initializer_in_src_pins_tls_1_2_and_1_3()
    {
        var sites = new List<string>();
        foreach (var (file, text) in Sources())
        {
            foreach (Match match in Initializer().Matches(text))
            {
                string body = Block(text, match.Index + match.Length - 1);
                string where = $"{Path.GetRelativePath(Root, file)}:{text[..match.Index].Count(c => c == '\n') + 1}";
                sites.Add(where);
                Assert.True(Regex.IsMatch(body, @"EnabledSslProtocols\s*=\s*SslProtocols\.Tls12\s*\|\s*SslProtocols\.Tls13\b"),
                    $"{where}: {match.Value.Trim()} does not pin TLS 1.2 and 1.3");
            }
        }
        // The four handshakes: PostgreSQL and HTTP, each toward clients and toward targets.
        Assert.True(sites.Count >= 4, "TLS options found at: " + string.Join(", ", sites));
        Assert.Contains(sites, s => s.Contains("Wire.Postgres", StringComparison.Ordinal));
        Assert.Contains(sites, s => s.Contains("Wire.Http", StringComparison.Ordinal));
    }

    [Fact]
    public void No_protocol_older_than_tls_1_2_is_named_in_src()
    {
        foreach (var (file, text) in Sources())
        {
            var old = Older().Match(text);
            Assert.False(old.Success, $"{Path.GetRelativePath(Root, file)} names {old.Value}");
        }
    }

    [GeneratedRegex(@"new\s+Ssl(Server|Client)AuthenticationOptions\s*(\(\s*\))?\s*\{")]
    private static partial Regex Initializer();

    [GeneratedRegex(@"SslProtocols\.(Ssl2|Ssl3|Tls|Tls11|Default)\b")]
    private static partial Regex Older();

    /// <summary>The text from the brace at <paramref name="open"/> to its matching closing brace.</summary>
    private static string Block(string text, int open)
    {
        int depth = 0;
        for (int i = open; i < text.Length; i++)
        {
            depth += text[i] == '{' ? 1 : text[i] == '}' ? -1 : 0;
            if (depth == 0)
            {
                return text[open..(i + 1)];
            }
        }
        throw new InvalidOperationException("an unclosed initializer");
    }

    private static readonly string Root = FindRoot();

    private static IEnumerable<(string File, string Text)> Sources() =>
        Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (f, File.ReadAllText(f)));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Wire.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Wire.sln not found above " + AppContext.BaseDirectory);
    }
}
