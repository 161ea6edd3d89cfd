using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace Wire.Hosting.Configuration;

/// <summary>
/// Turns an <see cref="IConfiguration"/> tree back into the JSON shape of a config file, so one strict reader checks both:
/// a section whose children are keyed 0, 1, 2, ... is an array, any other section an object, a value a string.
/// </summary>
internal static class ConfigurationJson
{
    public static string ToJson(IConfiguration configuration) => (ToNode(configuration) ?? new JsonObject()).ToJsonString();

    private static JsonNode? ToNode(IConfiguration configuration)
    {
        var children = configuration.GetChildren().ToList();
        if (children.Count == 0)
        {
            return configuration is IConfigurationSection { Value: { } value } ? JsonValue.Create(value) : null;
        }
        if (IsArray(children))
        {
            var array = new JsonArray();
            foreach (var child in children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)))
            {
                array.Add(ToNode(child));
            }
            return array;
        }
        var node = new JsonObject();
        foreach (var child in children)
        {
            node[child.Key] = ToNode(child);
        }
        return node;
    }

    // Indexes 0..n-1, each once: what the JSON and environment-variable providers make of an array.
    private static bool IsArray(List<IConfigurationSection> children)
    {
        var seen = new bool[children.Count];
        foreach (var child in children)
        {
            if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= seen.Length || seen[index])
            {
                return false;
            }
            seen[index] = true;
        }
        return true;
    }
}
