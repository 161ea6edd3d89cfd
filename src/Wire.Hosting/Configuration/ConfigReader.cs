using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Wire.Hosting.Configuration;

/// <summary>
/// Reads one JSON object of the config file strictly: typed getters that name the offending key by its full path,
/// <c>null</c> treated as absent, unknown and duplicate keys rejected by <see cref="EnsureOnly"/>.
/// </summary>
internal sealed class ConfigReader
{
    private const string SecretEnvPrefix = "env:";
    private const string SecretFilePrefix = "file:";

    private readonly JsonElement _element;
    private readonly string _baseDirectory;
    private readonly Func<string, string?> _environment;

    // IConfiguration holds every value as a string: numbers and booleans are then read from their text.
    private readonly bool _textScalars;

    private ConfigReader(JsonElement element, string path, string baseDirectory, Func<string, string?> environment, bool textScalars)
    {
        _element = element;
        Path = path;
        _baseDirectory = baseDirectory;
        _environment = environment;
        _textScalars = textScalars;
    }

    /// <summary>The path of this object in the config, for example <c>postgres.targets[0]</c>; empty for the root.</summary>
    public string Path { get; }

    /// <summary>Starts reading at the document's root, which must be an object.</summary>
    /// <param name="root">The document's root element.</param>
    /// <param name="baseDirectory">What relative paths resolve against.</param>
    /// <param name="environment">Resolves <c>env:NAME</c> secrets.</param>
    /// <param name="textScalars">Whether integers and booleans may also be written as strings (values from <c>IConfiguration</c>).</param>
    public static ConfigReader Root(JsonElement root, string baseDirectory, Func<string, string?> environment, bool textScalars = false)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            Throw(string.Empty, "must be a JSON object");
        }
        return new ConfigReader(root, string.Empty, baseDirectory, environment, textScalars);
    }

    /// <summary>The path of <paramref name="key"/> inside this object.</summary>
    public string PathOf(string key) => Join(Path, key);

    /// <summary>The path of item <paramref name="index"/> of the array at <paramref name="key"/>.</summary>
    public string PathOf(string key, int index) => $"{PathOf(key)}[{index.ToString(CultureInfo.InvariantCulture)}]";

    /// <summary>Whether <paramref name="key"/> is present with a non-null value.</summary>
    public bool Has(string key) => TryGet(key, out _);

    /// <summary>Rejects keys other than <paramref name="allowed"/>, and keys given twice.</summary>
    public void EnsureOnly(params ReadOnlySpan<string> allowed)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in _element.EnumerateObject())
        {
            if (!allowed.Contains(property.Name))
            {
                Throw(PathOf(property.Name), "unknown key");
            }
            if (!seen.Add(property.Name))
            {
                Throw(PathOf(property.Name), "duplicate key");
            }
        }
    }

    /// <summary>The object at <paramref name="key"/>; null when absent.</summary>
    public ConfigReader? GetObject(string key)
    {
        if (!TryGet(key, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            Throw(PathOf(key), "must be an object");
        }
        return new ConfigReader(value, PathOf(key), _baseDirectory, _environment, _textScalars);
    }

    /// <summary>The objects of the array at <paramref name="key"/>; empty when absent.</summary>
    public IReadOnlyList<ConfigReader> GetObjectArray(string key)
    {
        if (!TryGetArray(key, out var array))
        {
            return [];
        }
        var items = new List<ConfigReader>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            var path = PathOf(key, items.Count);
            if (item.ValueKind != JsonValueKind.Object)
            {
                Throw(path, "must be an object");
            }
            items.Add(new ConfigReader(item, path, _baseDirectory, _environment, _textScalars));
        }
        return items;
    }

    /// <summary>The string at <paramref name="key"/>; null when absent. Present strings must not be empty.</summary>
    public string? GetString(string key)
    {
        if (!TryGet(key, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            Throw(PathOf(key), "must be a string");
        }
        var text = value.GetString()!;
        if (text.Length == 0)
        {
            Throw(PathOf(key), "must not be empty");
        }
        return text;
    }

    /// <summary>The non-empty string at <paramref name="key"/>, which must be present.</summary>
    public string GetRequiredString(string key) => GetString(key) ?? throw Required(key);

    /// <summary>The string at <paramref name="key"/>, which must be one of the keys of <paramref name="choices"/>.</summary>
    public T GetChoice<T>(string key, IReadOnlyDictionary<string, T> choices, T defaultValue)
    {
        var text = GetString(key);
        if (text is null)
        {
            return defaultValue;
        }
        if (!choices.TryGetValue(text, out var choice))
        {
            Throw(PathOf(key), $"must be one of {string.Join(", ", choices.Keys)}");
        }
        return choice;
    }

    /// <summary>The integer at <paramref name="key"/> within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int GetInt(string key, int min, int max, int defaultValue)
    {
        if (!TryGet(key, out var value))
        {
            return defaultValue;
        }
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= min && number <= max)
        {
            return (int)number;
        }
        if (_textScalars && value.ValueKind == JsonValueKind.String
            && long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out number) && number >= min && number <= max)
        {
            return (int)number;
        }
        throw ConfigException.ForKey(PathOf(key), string.Create(CultureInfo.InvariantCulture, $"must be an integer from {min} to {max}"));
    }

    /// <summary>The boolean at <paramref name="key"/>.</summary>
    public bool GetBool(string key, bool defaultValue)
    {
        if (!TryGet(key, out var value))
        {
            return defaultValue;
        }
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when _textScalars && bool.TryParse(value.GetString(), out var flag) => flag,
            _ => throw ConfigException.ForKey(PathOf(key), "must be true or false"),
        };
    }

    /// <summary>
    /// The duration at <paramref name="key"/>, written <c>hh:mm:ss</c> (optionally <c>d.hh:mm:ss</c> and fractional
    /// seconds: <see cref="TimeSpan"/>'s constant format).
    /// </summary>
    public TimeSpan GetDuration(string key, TimeSpan defaultValue, bool allowZero = false)
    {
        if (!TryGet(key, out var value))
        {
            return defaultValue;
        }
        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : null;
        // "c" alone would also read "30" as 30 days and "1:2" as 01:02:00; insist on all three fields.
        if (text is not null
            && text.Count(c => c == ':') == 2
            && TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out var duration)
            && (duration > TimeSpan.Zero || (duration == TimeSpan.Zero && allowZero)))
        {
            return duration;
        }
        throw ConfigException.ForKey(PathOf(key), allowZero ? "must be a duration hh:mm:ss" : "must be a duration hh:mm:ss greater than zero");
    }

    /// <summary>
    /// The path at <paramref name="key"/>, resolved against the config file's directory; null when absent.
    /// With <paramref name="mustExist"/> the file must exist.
    /// </summary>
    public string? GetPath(string key, bool mustExist = true)
    {
        var text = GetString(key);
        if (text is null)
        {
            return null;
        }
        var path = ResolvePath(key, text);
        if (mustExist && !File.Exists(path))
        {
            Throw(PathOf(key), $"file {path} does not exist");
        }
        return path;
    }

    /// <summary>
    /// The secret at <paramref name="key"/>: <c>env:NAME</c> (an environment variable), <c>file:PATH</c> (a file's
    /// contents without trailing line breaks) or a literal string; null when absent. Never echoed in errors.
    /// </summary>
    public string? GetSecret(string key)
    {
        if (!TryGet(key, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            Throw(PathOf(key), "must be a string (a literal, env:NAME or file:PATH)");
        }
        var text = value.GetString()!;
        string secret;
        if (text.StartsWith(SecretEnvPrefix, StringComparison.Ordinal))
        {
            var name = text[SecretEnvPrefix.Length..];
            if (name.Length == 0)
            {
                Throw(PathOf(key), "env: must be followed by an environment variable name");
            }
            secret = _environment(name) ?? throw ConfigException.ForKey(PathOf(key), $"environment variable {name} is not set");
            if (secret.Length == 0)
            {
                Throw(PathOf(key), $"environment variable {name} is empty");
            }
            return secret;
        }
        if (text.StartsWith(SecretFilePrefix, StringComparison.Ordinal))
        {
            var fileName = text[SecretFilePrefix.Length..];
            if (fileName.Length == 0)
            {
                Throw(PathOf(key), "file: must be followed by a path");
            }
            var path = ResolvePath(key, fileName);
            secret = ReadFile(key, path).TrimEnd('\r', '\n');
            if (secret.Length == 0)
            {
                Throw(PathOf(key), $"file {path} is empty");
            }
            return secret;
        }
        if (text.Length == 0)
        {
            Throw(PathOf(key), "must not be empty");
        }
        return text;
    }

    /// <summary>The strings of the array at <paramref name="key"/> (each non-empty); empty when absent.</summary>
    public IReadOnlyList<string> GetStringArray(string key)
    {
        if (!TryGetArray(key, out var array))
        {
            return [];
        }
        var items = new List<string>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                Throw(PathOf(key, items.Count), "must be a string");
            }
            var text = item.GetString()!;
            if (text.Length == 0)
            {
                Throw(PathOf(key, items.Count), "must not be empty");
            }
            items.Add(text);
        }
        return items;
    }

    /// <summary>The paths in the array at <paramref name="key"/>, resolved against the config file's directory (they need not exist).</summary>
    public IReadOnlyList<string> GetPathArray(string key) => [.. GetStringArray(key).Select(text => ResolvePath(key, text))];

    /// <summary>The error for a missing required <paramref name="key"/>.</summary>
    public ConfigException Required(string key) => ConfigException.ForKey(PathOf(key), "required");

    /// <summary>Throws the error for <paramref name="key"/> of this object.</summary>
    [DoesNotReturn, StackTraceHidden]
    public void Fail(string key, string message) => Throw(PathOf(key), message);

    /// <summary>Throws the error for the key at <paramref name="path"/>.</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void Throw(string path, string message) => throw ConfigException.ForKey(path, message);

    /// <summary>Reads a whole file named by <paramref name="key"/>, turning IO failures into config errors.</summary>
    public string ReadFile(string key, string path)
    {
        try
        {
            return File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw ConfigException.ForKey(PathOf(key), $"file {path} does not exist");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{PathOf(key)}: cannot read file {path}: {e.Message}", e);
        }
    }

    private string ResolvePath(string key, string text)
    {
        try
        {
            return System.IO.Path.GetFullPath(text, _baseDirectory);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw ConfigException.ForKey(PathOf(key), "must be a valid file path");
        }
    }

    private bool TryGet(string key, out JsonElement value) =>
        _element.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;

    private bool TryGetArray(string key, out JsonElement array)
    {
        if (!TryGet(key, out array))
        {
            return false;
        }
        if (array.ValueKind != JsonValueKind.Array)
        {
            Throw(PathOf(key), "must be an array");
        }
        return true;
    }

    private static string Join(string parent, string key)
    {
        var name = IsPlainName(key) ? key : $"[\"{Escape(key)}\"]";
        return parent.Length == 0 || name[0] == '[' ? parent + name : $"{parent}.{name}";
    }

    private static bool IsPlainName(string key)
    {
        if (key.Length == 0)
        {
            return false;
        }
        foreach (var c in key)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-')
            {
                return false;
            }
        }
        return true;
    }

    // Keys of unknown-key errors come from the file; keep the message on one printable line.
    private static string Escape(string key)
    {
        var builder = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            if (c is '"' or '\\')
            {
                builder.Append('\\').Append(c);
            }
            else if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029')
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }
}
