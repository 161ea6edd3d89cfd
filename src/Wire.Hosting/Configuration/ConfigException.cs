namespace Wire.Hosting.Configuration;

/// <summary>
/// A problem in the gateway's config file. <see cref="Exception.Message"/> is one line that starts with the path of the
/// offending key (for example <c>postgres.targets[1].port: must be an integer from 1 to 65535</c>) and never contains a
/// secret.
/// </summary>
internal sealed class ConfigException : Exception
{
    public ConfigException()
        : base("invalid configuration")
    {
    }

    public ConfigException(string message)
        : base(OneLine(message))
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(OneLine(message), innerException)
    {
    }

    /// <summary>Creates the exception for the key at <paramref name="path"/>.</summary>
    public static ConfigException ForKey(string path, string message) =>
        new($"{(path.Length == 0 ? "(root)" : path)}: {message}");

    // The CLI prints the message as its one-line exit reason; text from the runtime (IO errors) must not break that.
    private static string OneLine(string message) =>
        message.Contains('\n') || message.Contains('\r') ? message.ReplaceLineEndings(" ") : message;
}
