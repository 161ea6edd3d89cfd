using System.Security.Cryptography;
using System.Text.Json;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;

namespace Wire.Gateway.Demo;

/// <summary>The demo's rules: mask the seeded PII, deny DROP/TRUNCATE, review unbounded DML; and where it records.</summary>
internal static class DemoRules
{
    /// <summary>A printable description of the rules.</summary>
    public const string Summary =
        """
        rules
          pii-columns    mask customers.ssn and customers.card_number (last 4 kept), customers.email (domain kept)
          pii-content    mask emails, phones, SSNs and card numbers wherever a value is computed (md5, concat, ...)
          no-drop        deny DROP and TRUNCATE (42501; the session goes on)
          unbounded-dml  review DELETE/UPDATE without WHERE: approvers "dba" (the reviewer token below, at the
                         approval page); without a decision it times out after 60 s (57014)

        """;

    public static RuleSet Create() => RuleSet.Create(
    [
        new RuleDefinition
        {
            Name = "pii-columns", Action = PolicyAction.Mask, Columns = ["public.customers.ssn", "public.customers.card_number"], Style = "partial",
        },
        new RuleDefinition { Name = "pii-email", Action = PolicyAction.Mask, Columns = ["public.customers.email"], Style = "email" },
        new RuleDefinition { Name = "pii-content", Action = PolicyAction.Mask, Detectors = ["email", "phone", "ssn", "card"], Style = "full" },
        new RuleDefinition { Name = "no-drop", Action = PolicyAction.Deny, Statements = [StatementKind.Drop, StatementKind.Truncate], Message = "not in the demo" },
        new RuleDefinition
        {
            Name = "unbounded-dml", Action = PolicyAction.Review, Statements = [StatementKind.Delete, StatementKind.Update], NoWhere = true,
            Approvers = ["dba"], Timeout = TimeSpan.FromSeconds(60),
        },
    ]);

    /// <summary>
    /// A recording directory under the temp directory, with a random key and a config file holding it, so the printed
    /// <c>wire verify</c> command works as is.
    /// </summary>
    public static DemoRecording CreateRecording()
    {
        var directory = Directory.CreateTempSubdirectory("wire-demo-recordings-").FullName;
        var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var configPath = Path.Combine(directory, "recording-config.json");
        using (var stream = File.Create(configPath))
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("recording");
            writer.WriteString("directory", directory);
            writer.WriteString("key", key);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(configPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return new DemoRecording(new RecordingOptions { Directory = directory, Key = System.Text.Encoding.UTF8.GetBytes(key) }, configPath);
    }
}

/// <summary>Where the demo records, and the config file <c>wire verify</c> reads the key from.</summary>
internal sealed record DemoRecording(RecordingOptions Options, string ConfigPath);
