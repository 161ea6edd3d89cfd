using System.Diagnostics;

namespace Wire.Testing;

/// <summary>
/// A small tmpfs mounted on a fresh directory, for faults of a real file system: fill it (writes fail with ENOSPC) or
/// remount it read-only (file creation fails with EROFS). Mounting needs root (or passwordless sudo);
/// <see cref="TryCreate"/> returns null where neither is available. Unmounted and removed on dispose.
/// </summary>
internal sealed class TmpfsMount : IDisposable
{
    private readonly string _root;
    private readonly bool _sudo;
    private int _fillers;

    private TmpfsMount(string root, string path, bool sudo)
    {
        _root = root;
        Path = path;
        _sudo = sudo;
    }

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="sizeBytes"/> at a new directory; null when this machine does not let us.</summary>
    public static TmpfsMount? TryCreate(long sizeBytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        string root = Directory.CreateTempSubdirectory("wire-tmpfs-").FullName;
        string path = System.IO.Path.Combine(root, "mnt");
        Directory.CreateDirectory(path);
        bool sudo = Environment.UserName != "root";
        if (Run(sudo, "mount", "-t", "tmpfs", "-o", $"size={sizeBytes},mode=0777", "tmpfs", path) == 0)
        {
            return new TmpfsMount(root, path, sudo);
        }
        Directory.Delete(root, recursive: true);
        return null;
    }

    /// <summary>Writes a filler file until the file system is full.</summary>
    public void Fill()
    {
        string filler = System.IO.Path.Combine(Path, $"filler-{_fillers++}.bin");
        var block = new byte[4096];
        using var stream = new FileStream(filler, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        try
        {
            for (int i = 0; i < 1 << 20; i++)
            {
                stream.Write(block);
            }
        }
        catch (IOException)
        {
            // ENOSPC: full.
            return;
        }
        throw new InvalidOperationException($"{Path} did not fill up");
    }

    /// <summary>Deletes the filler files.</summary>
    public void Free()
    {
        foreach (var filler in Directory.GetFiles(Path, "filler-*.bin"))
        {
            File.Delete(filler);
        }
    }

    /// <summary>Remounts read-only (fails while a file on it is open for writing).</summary>
    public void RemountReadOnly() => Check(Run(_sudo, "mount", "-o", "remount,ro", Path), "remount,ro");

    public void RemountReadWrite() => Check(Run(_sudo, "mount", "-o", "remount,rw", Path), "remount,rw");

    public void Dispose()
    {
        // Lazy: a process that still holds a file there (a gateway that was killed) must not keep the mount alive.
        _ = Run(_sudo, "umount", "-l", Path);
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Check(int exitCode, string what)
    {
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"mount -o {what} {Path} failed with exit code {exitCode}");
        }
    }

    private static int Run(bool sudo, string file, params string[] args)
    {
        var info = new ProcessStartInfo(sudo ? "sudo" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (sudo)
        {
            info.ArgumentList.Add("-n");
            info.ArgumentList.Add(file);
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        try
        {
            using var process = Process.Start(info)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            if (!process.WaitForExit(10_000))
            {
                process.Kill();
                return -1;
            }
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1; // no sudo (or no mount) on this machine
        }
    }
}
