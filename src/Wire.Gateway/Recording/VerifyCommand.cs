using System.Globalization;
using Wire.Enforcement.Recording;
using Wire.Hosting.Configuration;
using Wire.Hosting.State;

namespace Wire.Gateway.Recording;

/// <summary>
/// <c>wire verify PATH --config FILE</c>: checks one recording or every recording under a directory against
/// <c>recording.key</c>; <c>postgres:SESSION</c> or <c>postgres:</c> (all) checks those of the shared state. One line per file; exit 0 when every file is OK, 1 when any is bad, 2 for bad input or config.
/// </summary>
internal static class VerifyCommand
{
    public static int Run(string path, FileInfo configFile, TextWriter output, TextWriter error)
    {
        if (RecordingCommandSupport.LoadKey(configFile, error) is not var (options, statePostgres))
        {
            return RecordingCommandSupport.BadInput;
        }

        IReadOnlyList<RecordingVerification> results;
        Npgsql.NpgsqlDataSource? dataSource = null;
        try
        {
            if (RecordingCommandSupport.IsShared(path))
            {
                if (RecordingCommandSupport.SharedStore(configFile, statePostgres, error, out dataSource) is not { } store)
                {
                    return RecordingCommandSupport.BadInput;
                }
                string id = path[PostgresRecordingStore.Prefix.Length..];
                results = id.Length > 0
                    ? [RecordingVerifier.Verify(store, id, options.Key.Span)]
                    : [.. store.List().OrderBy(r => r.Id, StringComparer.Ordinal).Select(r => RecordingVerifier.Verify(store, r.Id, options.Key.Span))];
            }
            else
            {
                results = RecordingVerifier.Verify(path, options.Key.Span);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"wire: {path}: {RecordingCommandSupport.Reason(e)}");
            return RecordingCommandSupport.BadInput;
        }
        finally
        {
            dataSource?.Dispose();
        }
        if (results.Count == 0)
        {
            error.WriteLine(RecordingCommandSupport.IsShared(path)
                ? $"wire: {path}: the shared state holds no recordings"
                : $"wire: {path}: no *.jsonl recordings under this directory");
            return RecordingCommandSupport.BadInput;
        }

        var bad = 0;
        foreach (var result in results)
        {
            output.WriteLine(Describe(result));
            bad += result.IsValid ? 0 : 1;
        }
        return bad == 0 ? 0 : RecordingCommandSupport.BadRecording;
    }

    /// <summary><c>OK path (N records)</c> or <c>BAD path: record K: defect</c>.</summary>
    public static string Describe(RecordingVerification result) =>
        result.IsValid
            ? string.Create(CultureInfo.InvariantCulture,
                $"OK {result.Path} ({result.Records} records{(result.LostRecords > 0 ? $", {result.LostRecords} lost" : string.Empty)})")
            : string.Create(CultureInfo.InvariantCulture, $"BAD {result.Path}: record {result.BadRecord}: {result.DefectName}");
}
