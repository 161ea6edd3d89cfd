using System.Diagnostics;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// nginx (Debian package <c>nginx</c>) from a config written here: as the origin that serves the benchmark's static
/// responses, or as the reverse proxy users would pick (HTTP/1.1 to the upstream with a keep-alive pool of 64).
/// </summary>
internal sealed class Nginx : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private Nginx(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The master's pid; its workers are its children (<see cref="ProcessCpu.ReadTree"/>).</summary>
    public int Pid => _process.Id;

    public string Directory => _directory;

    private static string? Binary => new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);

    public static bool IsInstalled => Binary is not null;

    /// <summary>
    /// An origin serving <c>/1k</c> and <c>/1m</c> (1 KiB and 1 MiB of text) and <c>/users.json</c> (<see cref="UsersJson"/>,
    /// <c>application/json</c>) from files.
    /// </summary>
    public static async Task<Nginx?> TryStartOriginAsync()
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("wire-nginx-origin-").FullName;
        string root = Path.Combine(directory, "www");
        System.IO.Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "1k"), Body(1024)).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(root, "1m"), Body(1024 * 1024)).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(root, "users.json"), UsersJson).ConfigureAwait(false);
        return await TryStartAsync(directory, port => $$"""
                server {
                    listen 127.0.0.1:{{port}};
                    root {{root}};
                    location / { default_type text/plain; }
                    location = /users.json { default_type application/json; }
                }
            """).ConfigureAwait(false);
    }

    /// <summary>
    /// A JSON API answer of about 1 KiB with personal data in it: an <c>email</c> field per user and a card number
    /// (a test number that passes the Luhn check) inside a free-text <c>note</c>, for masking rules to find.
    /// </summary>
    public static string UsersJson { get; } = "{\"users\":[" + string.Join(",", Enumerable.Range(1, 6).Select(i =>
        $"{{\"id\":{i},\"name\":\"User {i}\",\"email\":\"user{i}@example.com\",\"plan\":\"pro\",\"active\":true," +
        $"\"note\":\"pays with card 4111 1111 1111 1111, prefers a call in the morning\"}}")) + "],\"total\":6}\n";

    /// <summary>nginx as a reverse proxy to <paramref name="originPort"/> (the configuration the issue names: HTTP/1.1, keepalive 64).</summary>
    public static Task<Nginx?> TryStartProxyAsync(int originPort) =>
        TryStartAsync(System.IO.Directory.CreateTempSubdirectory("wire-nginx-proxy-").FullName, port => $$"""
                upstream origin {
                    server 127.0.0.1:{{originPort}};
                    keepalive 64;
                }
                server {
                    listen 127.0.0.1:{{port}};
                    location / {
                        proxy_pass http://origin;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_buffering on;
                    }
                }
            """);

    private static string Body(int size)
    {
        const string Line = "Wire benchmark body: the same text over and over, one line of sixty-four bytes.\n";
        var text = string.Concat(Enumerable.Repeat(Line, size / Line.Length + 1));
        return text[..size];
    }

    private static async Task<Nginx?> TryStartAsync(string directory, Func<int, string> server)
    {
        if (Binary is not { } binary)
        {
            return null;
        }
        int port = PeerProcess.FreePort();
        string config = $$"""
            daemon off;
            worker_processes 2;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log warn;
            {{(Environment.UserName == "root" ? "user root;" : "")}}
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path {{directory}}/body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
                keepalive_requests 1000000;
                sendfile on;
            {{server(port)}}
            }
            """;
        string path = Path.Combine(directory, "nginx.conf");
        await File.WriteAllTextAsync(path, config).ConfigureAwait(false);
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-p");
        info.ArgumentList.Add(directory);
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(path);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine("nginx: " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var nginx = new Nginx(process, directory, port);
        if (await PeerProcess.WaitForPortAsync(process, port).ConfigureAwait(false))
        {
            return nginx;
        }
        await nginx.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException("nginx did not start: " + (File.Exists(Path.Combine(directory, "error.log")) ? File.ReadAllText(Path.Combine(directory, "error.log")) : ""));
    }

    public async ValueTask DisposeAsync() => await PeerProcess.StopAsync(_process, _directory).ConfigureAwait(false);
}
