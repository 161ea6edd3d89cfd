namespace Wire.Fuzz.Targets;

/// <summary>Every fuzz target, for the driver and for the seed-corpus test.</summary>
public static class FuzzTargets
{
    /// <summary>All targets, one per reader.</summary>
    public static IReadOnlyList<IFuzzTarget> All { get; } =
    [
        new PgBackendStreamFuzzTarget(),
        new PgFrontendStreamFuzzTarget(),
        new PgStartupFuzzTarget(),
        new PgScannerFuzzTarget(),
        new PgSqlFuzzTarget(),
        new DetectorsFuzzTarget(),
        new HttpStreamFuzzTarget(requests: true),
        new HttpStreamFuzzTarget(requests: false),
        new HttpWebSocketFuzzTarget(),
        new JsonMaskerFuzzTarget(),
        new SshTransportFuzzTarget(),
        new SshChannelsFuzzTarget(),
        new SshKeysFuzzTarget(),
        new ProxyHeaderFuzzTarget(),
    ];

    /// <summary>The target called <paramref name="name"/>.</summary>
    public static IFuzzTarget Get(string name)
    {
        foreach (var target in All)
        {
            if (string.Equals(target.Name, name, StringComparison.Ordinal))
            {
                return target;
            }
        }

        throw new ArgumentException($"No fuzz target is named '{name}'.", nameof(name));
    }

    /// <summary>
    /// Runs <paramref name="target"/> as a fuzz driver would: a protocol violation is an accepted
    /// outcome and is reported as true; anything else propagates.
    /// </summary>
    public static bool RunAcceptingViolations(IFuzzTarget target, ReadOnlySpan<byte> input)
    {
        try
        {
            target.Run(input);
            return false;
        }
        catch (ProtocolViolationException)
        {
            return true;
        }
    }
}
