using System.Buffers;
using Wire.Postgres.Protocol;

namespace Wire.Fuzz.Targets;

/// <summary>
/// The parameter list of a StartupMessage (what follows its length and version), read with
/// <c>PgStartupMessage.Parse</c>. Parsing is strict, so whatever it accepts must be written back by
/// <c>PgMessageWriter.WriteStartupMessage</c> byte for byte.
/// </summary>
public sealed class PgStartupFuzzTarget : IFuzzTarget
{
    private const int Protocol30 = 3 << 16;

    public string Name => "pg-startup";

    public void Run(ReadOnlySpan<byte> input)
    {
        var startup = PgStartupMessage.Parse(Protocol30, input);

        if (startup.MajorVersion != 3 || startup.MinorVersion != 0)
        {
            throw new FuzzInvariantException("the version was not kept");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in startup.Parameters)
        {
            if (name.Length == 0 || name.Contains('\0') || value.Contains('\0'))
            {
                throw new FuzzInvariantException("a parameter has an empty name or contains NUL");
            }

            if (!names.Add(name))
            {
                throw new FuzzInvariantException("a repeated parameter was accepted");
            }

            if (startup[name] != value)
            {
                throw new FuzzInvariantException("the indexer disagrees with the parameter list");
            }
        }

        var writer = new ArrayBufferWriter<byte>(input.Length + 8);
        PgMessageWriter.WriteStartupMessage(writer, startup.Parameters);
        if (!writer.WrittenSpan.Slice(8).SequenceEqual(input))
        {
            throw new FuzzInvariantException("the parsed parameters do not write back to the same bytes");
        }
    }
}
