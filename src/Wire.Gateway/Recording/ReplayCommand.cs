using System.Globalization;
using Wire.Enforcement.Recording;

namespace Wire.Gateway.Recording;

/// <summary>
/// <c>wire replay FILE [--config FILE]</c>: prints a recording's transcript. With a config it also verifies the file and
/// ends with <c>OK: N records verified</c> or <c>BAD: record K: defect</c> (exit 1); bad input or config exits 2.
/// </summary>
internal static class ReplayCommand
{
    public static int Run(string path, FileInfo? configFile, TextWriter output, TextWriter error)
    {
        RecordingOptions? options = null;
        if (configFile is not null && (options = RecordingCommandSupport.LoadKey(configFile, error)) is null)
        {
            return RecordingCommandSupport.BadInput;
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
            if (options is not null)
            {
                verification = RecordingVerifier.VerifyFile(path, options.Key.Span);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"wire: {path}: {RecordingCommandSupport.Reason(e)}");
            return RecordingCommandSupport.BadInput;
        }

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
