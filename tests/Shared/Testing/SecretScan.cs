using System.Text;

namespace Wire.Testing;

/// <summary>
/// A value that must never show up somewhere (an upstream password, a client token, a masked SSN), with the forms it
/// could take on the way: its bytes, lower- and upper-case hex, and standard and URL-safe base64. Base64 of a longer
/// buffer that holds the value depends on where the value starts (its offset mod 3), so each of the three alignments
/// is searched for: the encoding of the value's whole 3-byte groups at that alignment, which any base64 text of any
/// buffer containing the value contains (values of 8 bytes or more; shorter ones are searched for as bytes and hex).
/// </summary>
internal sealed class Secret
{
    private readonly List<(string Form, byte[] Bytes)> _forms = [];

    public Secret(string label, byte[] value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value.Length, 4, nameof(value));
        Label = label;
        Value = value;
        Add("bytes", value);
        Add("hex", Encoding.ASCII.GetBytes(Convert.ToHexStringLower(value)));
        Add("HEX", Encoding.ASCII.GetBytes(Convert.ToHexString(value)));
        if (value.Length >= 8)
        {
            for (int skip = 0; skip < 3; skip++)
            {
                int whole = (value.Length - skip) / 3 * 3;
                string base64 = Convert.ToBase64String(value, skip, whole);
                Add($"base64@{skip}", Encoding.ASCII.GetBytes(base64));
                Add($"base64url@{skip}", Encoding.ASCII.GetBytes(base64.Replace('+', '-').Replace('/', '_')));
            }
        }
    }

    public Secret(string label, string value)
        : this(label, Encoding.UTF8.GetBytes(value))
    {
    }

    /// <summary>What the value is, for messages (never the value itself).</summary>
    public string Label { get; }

    public byte[] Value { get; }

    /// <summary>The name of the first form of this value found in <paramref name="haystack"/>, or null.</summary>
    public string? FindIn(ReadOnlySpan<byte> haystack)
    {
        foreach (var (form, bytes) in _forms)
        {
            if (haystack.IndexOf(bytes) >= 0)
            {
                return form;
            }
        }
        return null;
    }

    private void Add(string form, byte[] bytes)
    {
        if (!_forms.Exists(f => f.Bytes.AsSpan().SequenceEqual(bytes)))
        {
            _forms.Add((form, bytes));
        }
    }

    public override string ToString() => Label;
}

/// <summary>Searches what a test collected (client bytes, logs, recordings, admin API answers) for <see cref="Secret"/>s.</summary>
internal static class SecretScan
{
    /// <summary>Every (place, secret, form) where a secret was found; empty when none was.</summary>
    public static List<string> Findings(IEnumerable<(string Where, byte[] Bytes)> evidence, IEnumerable<Secret> secrets)
    {
        var list = secrets.ToList();
        var found = new List<string>();
        foreach (var (where, bytes) in evidence)
        {
            foreach (var secret in list)
            {
                if (secret.FindIn(bytes) is { } form)
                {
                    found.Add($"{secret.Label} ({form}) in {where}");
                }
            }
        }
        return found;
    }

    /// <summary>Fails naming each place a secret was found (the secret's label and form, never its value).</summary>
    public static void AssertNoneIn(IEnumerable<(string Where, byte[] Bytes)> evidence, IEnumerable<Secret> secrets)
    {
        var found = Findings(evidence, secrets);
        Assert.True(found.Count == 0, "found:\n" + string.Join('\n', found));
    }

    /// <summary>Every file under <paramref name="directory"/> (recordings and their attachments), as evidence.</summary>
    public static List<(string Where, byte[] Bytes)> Files(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Select(f => ("file " + Path.GetFileName(f), File.ReadAllBytes(f))).ToList()
            : [];

    /// <summary>
    /// What the gateway showed anyone, as evidence: what it sent its clients through <paramref name="tap"/> (when given),
    /// its <paramref name="log"/>, every file under <paramref name="recordings"/>, and the admin API's answers
    /// (<see cref="AdminAsync"/>).
    /// </summary>
    public static List<(string Where, byte[] Bytes)> Gateway(
        string log, string recordings, IEnumerable<(string Where, byte[] Bytes)> admin, TcpTap? tap = null) =>
        [.. tap is null ? [] : Streams("Wire to client", tap.ToClient), Text("the gateway's log", log), .. Files(recordings), .. admin];

    /// <summary>
    /// The recordings under <paramref name="directory"/> that are complete (they hold their <c>session.end</c>); 0 before
    /// the directory exists.
    /// </summary>
    public static int CompleteRecordings(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetFiles(directory, "*.jsonl")
                .Count(f => File.ReadAllText(f).Contains("\"type\":\"session.end\"", StringComparison.Ordinal))
            : 0;

    /// <summary>Every recording's JSON Lines under <paramref name="directory"/>, one after another.</summary>
    public static string Recorded(string directory) => string.Concat(Directory.GetFiles(directory, "*.jsonl").Select(File.ReadAllText));

    /// <summary>Text as evidence.</summary>
    public static (string Where, byte[] Bytes) Text(string where, string text) => (where, Encoding.UTF8.GetBytes(text));

    /// <summary>Each connection's bytes as evidence.</summary>
    public static IEnumerable<(string Where, byte[] Bytes)> Streams(string where, IReadOnlyList<byte[]> streams) =>
        streams.Select((bytes, i) => ($"{where} #{i + 1}", bytes));

    /// <summary>
    /// What the admin API on 127.0.0.1:<paramref name="port"/> shows: the metrics scrape, the sessions, the recordings list and every
    /// recording, asked with <paramref name="adminToken"/>; the number of recordings is returned with it.
    /// </summary>
    public static async Task<(List<(string Where, byte[] Bytes)> Evidence, int Recordings)> AdminAsync(int port, string adminToken)
    {
        using var http = AdminApi.Client(port);
        var evidence = new List<(string Where, byte[] Bytes)>
        {
            ("GET /metrics", await http.GetByteArrayAsync("/metrics")),
        };
        foreach (string path in (string[])["/api/sessions", "/api/recordings", "/api/approvals", "/api/grants"])
        {
            using var response = await AdminApi.SendAsync(http, HttpMethod.Get, path, adminToken);
            Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}");
            evidence.Add(("GET " + path, await response.Content.ReadAsByteArrayAsync()));
        }
        using var list = System.Text.Json.JsonDocument.Parse(evidence.Single(e => e.Where == "GET /api/recordings").Bytes);
        int count = 0;
        foreach (var recording in list.RootElement.EnumerateArray())
        {
            string id = recording.GetProperty("id").GetString()!;
            using var response = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings/" + id, adminToken);
            Assert.True(response.IsSuccessStatusCode, $"GET /api/recordings/{id}: {(int)response.StatusCode}");
            evidence.Add(("GET /api/recordings/" + id, await response.Content.ReadAsByteArrayAsync()));
            count++;
        }
        return (evidence, count);
    }
}
