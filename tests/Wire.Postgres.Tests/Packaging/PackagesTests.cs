using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using Npgsql;
using Wire.Gateway.Demo;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Packaging;

/// <summary>
/// Wire as its users get it: <c>dotnet pack</c> of the solution into a local folder feed, then the sample in samples/ (a
/// custom gateway host) restored from that feed, built and run in front of the real server, and the <c>wire</c> tool
/// installed from it. The packages are versioned uniquely per run, so nothing cached from an earlier run is used.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PackagesTests(PostgresFixture pg) : IDisposable
{
    private static readonly string[] Libraries = ["Wire.Enforcement", "Wire.Postgres", "Wire.Ssh", "Wire.Http", "Wire.Hosting"];
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    private readonly string _root = WireProcess.RepositoryRoot();
    private readonly string _work = Directory.CreateTempSubdirectory("wire-packages-").FullName;
    private readonly string _version = "0.0.0-test." + Guid.NewGuid().ToString("N")[..12];

    private string Feed => Path.Combine(_work, "feed");

    public void Dispose()
    {
        Directory.Delete(_work, recursive: true);
        // The global package cache keeps what the restore took from the feed: this run's version only.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string id in Libraries.Append("Wire.Gateway"))
        {
            string cached = Path.Combine(cache, id.ToLowerInvariant(), _version);
            if (Directory.Exists(cached))
            {
                Directory.Delete(cached, recursive: true);
            }
        }
    }

    [Fact]
    public async Task PackagesWorkFromOutsideTheSolution()
    {
        await PackAsync();
        foreach (string id in Libraries)
        {
            CheckLibraryPackage(id);
        }
        CheckToolPackage();

        string sample = CopySample();
        await RunSampleAsync(sample);
        await InstallAndRunToolAsync(sample);
    }

    private async Task PackAsync()
    {
        // --no-build: the packages hold exactly what the tests ran against (the solution is built before the tests).
        var pack = await RunAsync("dotnet", ["pack", Path.Combine(_root, "Wire.sln"), "-c", WireProcess.BuildConfiguration, "--no-build",
            "-o", Feed, $"-p:PackageVersion={_version}", "-nodeReuse:false", "-v", "q"], _root);
        Assert.True(pack.ExitCode == 0, $"dotnet pack failed:\n{pack.StandardOutput}\n{pack.StandardError}");
    }

    private void CheckLibraryPackage(string id)
    {
        using (var package = ZipFile.OpenRead(Path.Combine(Feed, $"{id}.{_version}.nupkg")))
        {
            var entries = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            Assert.Contains($"lib/net10.0/{id}.dll", entries);
            Assert.Contains($"lib/net10.0/{id}.xml", entries); // XML docs for IntelliSense
            Assert.Contains("README.md", entries);

            var metadata = Nuspec(package, id);
            Assert.Equal("MIT", Element(metadata, "license").Value);
            Assert.Equal("README.md", Element(metadata, "readme").Value);
            var repository = Element(metadata, "repository");
            Assert.Equal("https://github.com/wire-gateway/wire", repository.Attribute("url")?.Value);
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? ""); // SourceLink's commit
            Assert.False(string.IsNullOrWhiteSpace(Element(metadata, "description").Value));
            // Wire's packages depend on each other at the same version.
            foreach (var dependency in metadata.Descendants().Where(e => e.Name.LocalName == "dependency"
                && e.Attribute("id")!.Value.StartsWith("Wire.", StringComparison.Ordinal)))
            {
                Assert.Equal(_version, dependency.Attribute("version")!.Value);
            }
        }

        using var symbols = ZipFile.OpenRead(Path.Combine(Feed, $"{id}.{_version}.snupkg"));
        var pdb = symbols.GetEntry($"lib/net10.0/{id}.pdb");
        Assert.NotNull(pdb);
        using var stream = pdb.Open();
        var magic = new byte[4];
        stream.ReadExactly(magic);
        Assert.Equal("BSJB"u8.ToArray(), magic); // a portable pdb, as symbol servers take
    }

    private void CheckToolPackage()
    {
        using var package = ZipFile.OpenRead(Path.Combine(Feed, $"Wire.Gateway.{_version}.nupkg"));
        var settings = package.Entries.Single(e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal));
        using var reader = new StreamReader(settings.Open());
        var command = XDocument.Parse(reader.ReadToEnd()).Descendants("Command").Single();
        Assert.Equal("wire", command.Attribute("Name")?.Value);
        Assert.Equal("MIT", Element(Nuspec(package, "Wire.Gateway"), "license").Value);
    }

    private static XElement Nuspec(ZipArchive package, string id)
    {
        using var reader = new StreamReader(package.GetEntry($"{id}.nuspec")!.Open());
        return XDocument.Parse(reader.ReadToEnd()).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static XElement Element(XElement parent, string name) =>
        parent.Elements().SingleOrDefault(e => e.Name.LocalName == name) ?? throw new Xunit.Sdk.XunitException($"nuspec has no <{name}>");

    /// <summary>samples/ copied out of the repository with a nuget.config that puts this run's feed first.</summary>
    private string CopySample()
    {
        string samples = Path.Combine(_work, "samples");
        foreach (string file in Directory.EnumerateFiles(Path.Combine(_root, "samples"), "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(Path.Combine(_root, "samples"), file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            {
                continue;
            }
            string target = Path.Combine(samples, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        // Outside the repository nothing of its build applies; the feed first, then the registry for everything else.
        File.WriteAllText(Path.Combine(_work, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="wire-test-feed" value="{Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        return Path.Combine(samples, "Wire.Sample.Host");
    }

    private async Task RunSampleAsync(string sample)
    {
        var build = await RunAsync("dotnet", ["build", sample, "-c", "Release", $"-p:WireVersion={_version}", "-nodeReuse:false", "-v", "q"], _work);
        Assert.True(build.ExitCode == 0, $"the sample did not build:\n{build.StandardOutput}\n{build.StandardError}");

        int port = Ports.Free();
        var environment = new Dictionary<string, string>
        {
            ["SAMPLE_TOKEN"] = "sample-token",
            ["SAMPLE_DB_PASSWORD"] = pg.ScramPassword,
            ["Wire__postgres__listen"] = $"127.0.0.1:{port}",
            ["Wire__postgres__targets__0__port"] = pg.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Wire__postgres__targets__0__username"] = PostgresFixture.ScramUser,
            ["Wire__postgres__targets__0__sslMode"] = "disable",
        };
        string dll = Path.Combine(sample, "bin", "Release", "net10.0", "Wire.Sample.Host.dll");
        await using var host = WireProcess.StartFrom(dll, environment, "--contentRoot", sample);
        await host.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));

        await using (var conn = new NpgsqlConnection(
            $"Host=127.0.0.1;Port={port};Username=alice;Password=sample-token;Database=app;Pooling=false;SSL Mode=Disable;Timeout=10;Command Timeout=30"))
        {
            await conn.OpenAsync();
            await using (var select = new NpgsqlCommand("SELECT current_user", conn))
            {
                Assert.Equal(PostgresFixture.ScramUser, await select.ExecuteScalarAsync());
            }
            var denied = await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await using var drop = new NpgsqlCommand("DROP TABLE IF EXISTS sample_nothing", conn);
                await drop.ExecuteNonQueryAsync();
            });
            Assert.Equal("42501", denied.SqlState);
            // The sample's own broker approves the review of rule "auto-approved".
            await using (var create = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS sample_table (id int)", conn))
            {
                await create.ExecuteNonQueryAsync();
            }
            await using (var truncate = new NpgsqlCommand("TRUNCATE sample_table", conn))
            {
                await truncate.ExecuteNonQueryAsync();
            }
            // The sample's own detector finds the employee id and its own mask style keeps the prefix (rule "employee-ids").
            await using (var badge = new NpgsqlCommand("SELECT 'badge EMP-123456, room 12'", conn))
            {
                Assert.Equal("badge EMP-******, room 12", await badge.ExecuteScalarAsync());
            }
        }

        // The sample's own recorder printed each command with its outcome.
        await host.WaitForAsync("audit: alice denied: DROP TABLE IF EXISTS sample_nothing", TimeSpan.FromSeconds(10));
        await host.WaitForAsync("audit: alice approved: TRUNCATE sample_table", TimeSpan.FromSeconds(10));

        host.Signal(PosixSignal.SIGTERM);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(20)));
    }

    private async Task InstallAndRunToolAsync(string sample)
    {
        string tools = Path.Combine(_work, "tools");
        var install = await RunAsync("dotnet", ["tool", "install", "Wire.Gateway", "--version", _version, "--tool-path", tools], _work);
        Assert.True(install.ExitCode == 0, $"dotnet tool install failed:\n{install.StandardOutput}\n{install.StandardError}");

        string config = Path.Combine(_work, "gateway.json");
        File.WriteAllText(config, """
            { "identity": { "tokens": [ { "token": "t", "subject": "alice" } ] },
              "postgres": { "listen": "127.0.0.1:6432", "targets": [ { "name": "app", "host": "127.0.0.1", "port": 5432, "username": "u" } ] } }
            """);
        var check = await RunAsync(Path.Combine(tools, "wire"), ["run", "--config", config, "--check-config"], _work);
        Assert.True(check.ExitCode == 0, $"wire run --check-config failed:\n{check.StandardOutput}\n{check.StandardError}");
        Assert.Contains("gateway.json is valid", check.StandardOutput, StringComparison.Ordinal);
    }

    private static Task<ProcessResult> RunAsync(string fileName, IReadOnlyList<string> arguments, string directory) =>
        ToolProcess.RunAsync(fileName, arguments, null, directory, Limit, CancellationToken.None,
            new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" });

}
