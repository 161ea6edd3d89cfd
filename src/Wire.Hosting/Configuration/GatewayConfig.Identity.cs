using System.Buffers.Binary;
using System.Text;
using Wire.Enforcement.Identity;

namespace Wire.Hosting.Configuration;

internal sealed partial class GatewayConfig
{
    private void ReadIdentity(ConfigReader identity)
    {
        identity.EnsureOnly("tokens", "users", "sshCa", "oidc");
        Tokens = ReadTokens(identity);
        Users = ReadUsers(identity);
        SshCertificateAuthorities = ReadSshCa(identity);
        if (identity.GetObject("oidc") is { } oidc)
        {
            Oidc = ReadOidc(oidc);
        }
    }

    private static List<StaticToken> ReadTokens(ConfigReader identity)
    {
        var tokens = new List<StaticToken>();
        // token text -> index of its first entry; errors name the indexes, never the token
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in identity.GetObjectArray("tokens"))
        {
            entry.EnsureOnly("token", "subject", "groups");
            var token = entry.GetSecret("token") ?? throw entry.Required("token");
            if (!seen.TryAdd(token, tokens.Count))
            {
                entry.Fail("token", $"same token as {identity.PathOf("tokens", seen[token])}");
            }
            var subject = entry.GetRequiredString("subject");
            var groups = entry.GetStringArray("groups");
            tokens.Add(new StaticToken(token, subject, groups));
        }
        return tokens;
    }

    private static List<ConfiguredUser> ReadUsers(ConfigReader identity)
    {
        var users = new List<ConfiguredUser>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in identity.GetObjectArray("users"))
        {
            entry.EnsureOnly("subject", "groups", "sshKeys");
            var subject = entry.GetRequiredString("subject");
            if (!seen.TryAdd(subject, users.Count))
            {
                entry.Fail("subject", $"same subject as {identity.PathOf("users", seen[subject])}");
            }
            var groups = entry.GetStringArray("groups");
            var sshKeys = entry.GetStringArray("sshKeys");
            for (var i = 0; i < sshKeys.Count; i++)
            {
                if (!IsOpenSshPublicKeyLine(sshKeys[i]))
                {
                    ConfigReader.Throw(entry.PathOf("sshKeys", i), "must be an authorized_keys line: [options] type base64-key [comment]");
                }
            }
            users.Add(new ConfiguredUser(subject, groups, sshKeys));
        }
        return users;
    }

    private static IReadOnlyList<string> ReadSshCa(ConfigReader identity)
    {
        var keys = identity.GetStringArray("sshCa");
        for (var i = 0; i < keys.Count; i++)
        {
            if (!IsOpenSshPublicKeyLine(keys[i]))
            {
                ConfigReader.Throw(identity.PathOf("sshCa", i), "must be an OpenSSH public key: type base64-key [comment]");
            }
        }
        return keys;
    }

    private static OidcOptions ReadOidc(ConfigReader oidc)
    {
        oidc.EnsureOnly("issuer", "audience", "jwksFile", "metadataAddress", "requireHttpsMetadata", "subjectClaim", "groupsClaim");
        var issuer = oidc.GetRequiredString("issuer");
        if (!IsHttpUrl(issuer))
        {
            oidc.Fail("issuer", "must be an absolute http or https URL");
        }
        var options = new OidcOptions
        {
            Issuer = issuer,
            Audience = oidc.GetRequiredString("audience"),
            JwksFile = oidc.GetPath("jwksFile"),
            MetadataAddress = oidc.GetString("metadataAddress"),
            RequireHttpsMetadata = oidc.GetBool("requireHttpsMetadata", true),
            SubjectClaim = oidc.GetString("subjectClaim") ?? "sub",
            GroupsClaim = oidc.GetString("groupsClaim") ?? "groups",
        };
        if (options.MetadataAddress is { } metadata && !IsHttpUrl(metadata))
        {
            oidc.Fail("metadataAddress", "must be an absolute http or https URL");
        }
        if (options.JwksFile is null && options.RequireHttpsMetadata)
        {
            // Without a JWKS file the keys come from discovery; catch a plain-http address now rather than at the first token.
            var (key, address) = options.MetadataAddress is { } m ? ("metadataAddress", m) : ("issuer", issuer);
            if (!address.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                oidc.Fail(key, "must be an https URL when requireHttpsMetadata is true and no jwksFile is given");
            }
        }
        return options;
    }

    private static bool IsHttpUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    /// <summary>
    /// Whether <paramref name="line"/> holds an OpenSSH public key: a key type followed by a base64 blob that starts with
    /// that same type (RFC 4253 §6.6), with <c>authorized_keys</c> options before it and a comment after it allowed.
    /// </summary>
    private static bool IsOpenSshPublicKeyLine(string line)
    {
        if (line.Contains('\n') || line.Contains('\r'))
        {
            return false;
        }
        var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i + 1 < fields.Length; i++)
        {
            if (BlobKeyType(fields[i + 1]) is { } type && type.Length > 0 && string.Equals(type, fields[i], StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private static string? BlobKeyType(string base64)
    {
        var blob = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64, blob, out var length) || length < 4)
        {
            return null;
        }
        var typeLength = BinaryPrimitives.ReadUInt32BigEndian(blob);
        if (typeLength > (uint)(length - 4))
        {
            return null;
        }
        return Encoding.ASCII.GetString(blob, 4, (int)typeLength);
    }
}
