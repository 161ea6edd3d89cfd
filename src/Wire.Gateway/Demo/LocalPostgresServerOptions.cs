namespace Wire.Gateway.Demo;

/// <summary>Settings for a throwaway <see cref="LocalPostgresServer"/>.</summary>
internal sealed class LocalPostgresServerOptions
{
    /// <summary>The bootstrap superuser created by initdb; it logs in with <c>trust</c> from 127.0.0.1 and the socket.</summary>
    public string SuperUser { get; set; } = "wire_admin";

    /// <summary>The server's <c>max_connections</c>.</summary>
    public int MaxConnections { get; set; } = 200;

    /// <summary>Extra <c>postgresql.conf</c> lines, appended after Wire's own settings (so they win).</summary>
    public IList<string> ExtraConfig { get; } = new List<string>();

    /// <summary>
    /// <c>pg_hba.conf</c> lines placed first; they are followed by a trust line for the superuser on 127.0.0.1
    /// and <c>local all all trust</c>. Lines are matched top-down, so put <c>reject</c> lines before broader ones.
    /// </summary>
    public IList<string> HbaLines { get; } = new List<string>();

    /// <summary>
    /// PEM text of the server certificate (optionally followed by its chain); with <see cref="TlsKeyPem"/> turns on <c>ssl</c>.
    /// </summary>
    public string? TlsCertificatePem { get; set; }

    /// <summary>PEM text of the server certificate's private key (PKCS#8 or PKCS#1, unencrypted).</summary>
    public string? TlsKeyPem { get; set; }
}
