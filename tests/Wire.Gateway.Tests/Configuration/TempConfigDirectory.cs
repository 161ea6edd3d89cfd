namespace Wire.Gateway.Tests.Configuration;

/// <summary>A scratch directory for config files, deleted on dispose.</summary>
internal sealed class TempConfigDirectory : IDisposable
{
    public TempConfigDirectory()
    {
        Path = Directory.CreateTempSubdirectory("wire-config-").FullName;
    }

    public string Path { get; }

    public string Write(string name, string contents)
    {
        var path = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, contents);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a leftover temp directory does not fail a test
        }
    }
}
