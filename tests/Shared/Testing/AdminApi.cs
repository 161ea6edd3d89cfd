using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Wire.Testing;

/// <summary>Calls to a running gateway's admin API (docs/admin-api.md) as tests make them.</summary>
internal static class AdminApi
{
    /// <summary>A client for the admin API on 127.0.0.1:<paramref name="port"/>.</summary>
    public static HttpClient Client(int port) => new() { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Sends a request with a bearer token and, when given, <paramref name="body"/> as JSON.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }
        return await http.SendAsync(request);
    }

    /// <summary>Polls <paramref name="probe"/> every 100 ms until it finds something; throws after 30 seconds.</summary>
    public static async Task<JsonElement> WaitForAsync(Func<Task<JsonElement?>> probe)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the admin API never showed what was expected");
            }
            await Task.Delay(100);
        }
    }
}
