using System.Globalization;
using Wire.Enforcement.Recording;
using Wire.Hosting.State;

namespace Wire.Gateway.Recording;

/// <summary>
/// <c>wire replay FILE [--config FILE]</c>: prints a recording's transcript (<c>postgres:SESSION</c> with a config: one of
/// the shared state). With a config it also verifies the file and
/// ends with <c>OK: N records verified</c> or <c>BAD: record K: defect</c> (exit 1); bad input or config exits 2.
/// </summary>
internal static class ReplayCommand
{
    public static int Run(string path, FileInfo? configFile, TextWriter output, TextWriter error)
    {
        (RecordingOptions Options, string? StatePostgres)? recording = null;
        if (configFile is not null && (recording = RecordingCommandSupport.LoadKey(configFile, error)) is null)
        {
            return RecordingCommandSupport.BadInput;
        }
        if (RecordingCommandSupport.IsShared(path))
        {
            return RunShared(path, configFile, recording, output, error);
        }
        if (Directory.Exists(path))
        {
            error.WriteLine($"wire: {path}: is a directory; replay takes one recording");
            return RecordingCommandSupport.BadInput;
        }
        if (!File.Exists(path))
        {
            error.WriteLine($"wire: {path}: no such file or directory");
            return RecordingCommandSupport.BadInput;
        }

        RecordingVerification? verification = null;
        try
        {
            RecordingReplay.Write(path, output);
            if (recording is var (options, _))
            {
                verification = RecordingVerifier.VerifyFile(path, options.Key.Span);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"wire: {path}: {RecordingCommandSupport.Reason(e)}");
            return RecordingCommandSupport.BadInput;
        }
        return Report(verification, output);
    }

    /// <summary><c>wire replay postgres:SESSION --config FILE</c>: the config names the shared state, so the recording is also verified.</summary>
    private static int RunShared(string path, FileInfo? configFile, (RecordingOptions Options, string? StatePostgres)? recording, TextWriter output,
        TextWriter error)
    {
        string id = path[PostgresRecordingStore.Prefix.Length..];
        if (configFile is null || recording is not var (options, statePostgres))
        {
            error.WriteLine($"wire: {path}: a recording of the shared state needs --config (it names the database)");
            return RecordingCommandSupport.BadInput;
        }
        if (!RecordingFormat.IsValidSessionId(id))
        {
            error.WriteLine($"wire: {path}: not a session id; replay takes one recording");
            return RecordingCommandSupport.BadInput;
        }
        if (RecordingCommandSupport.SharedStore(configFile, statePostgres, error, out var dataSource) is not { } store)
        {
            return RecordingCommandSupport.BadInput;
        }
        using (dataSource)
        {
            RecordingVerification verification;
            try
            {
                RecordingReplay.Write(store.OpenRead(id + RecordingFormat.Extension), output);
                verification = RecordingVerifier.Verify(store, id, options.Key.Span);
            }
            catch (IOException e)
            {
                error.WriteLine($"wire: {path}: {RecordingCommandSupport.Reason(e)}");
                return RecordingCommandSupport.BadInput;
            }
            return Report(verification, output);
        }
    }

    private static int Report(RecordingVerification? verification, TextWriter output)
    {
        if (verification is null)
        {
            return 0;
        }
        output.WriteLine(verification.IsValid
            ? string.Create(CultureInfo.InvariantCulture, $"OK: {verification.Records} records verified")
            : string.Create(CultureInfo.InvariantCulture, $"BAD: record {verification.BadRecord}: {verification.DefectName}"));
        return verification.IsValid ? 0 : RecordingCommandSupport.BadRecording;
    }
}
