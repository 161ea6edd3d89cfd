using FsCheck.Xunit;
using Wire.Fuzz.Targets;

namespace Wire.Fuzz;

/// <summary>
/// Hostile SSH input: whatever a client sends before the keys are agreed (after a valid identification string, and
/// as damaged copies of a real opening), and whatever bytes are read as keys, Wire either takes them or refuses them
/// with a protocol error; nothing else escapes.
/// </summary>
public sealed class SshProperties
{
    private static readonly byte[] Opening = SshSeeds.Transport[2];

    [Property(MaxTest = 300)]
    public void The_transport_on_random_packets_only_refuses(byte[] garbage)
    {
        FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("ssh-transport"), [.. "SSH-2.0-Fuzz_1\r\n"u8, .. garbage]);
    }

    [Property(MaxTest = 500)]
    public void The_transport_on_a_damaged_opening_only_refuses(int position, byte value)
    {
        byte[] copy = Opening.ToArray();
        copy[(int)((uint)position % (uint)copy.Length)] = value;
        FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("ssh-transport"), copy);
    }

    [Property(MaxTest = 300)]
    public void Key_readers_on_damaged_keys_only_refuse(int which, int position, byte value)
    {
        byte[] copy = SshSeeds.Keys[(int)((uint)which % (uint)SshSeeds.Keys.Count)].ToArray();
        copy[(int)((uint)position % (uint)copy.Length)] = value;
        FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("ssh-keys"), copy);
    }
}
