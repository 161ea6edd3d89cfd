namespace Wire.Enforcement.Masking;

/// <summary>The config names of the detectors (<c>"card"</c>, <c>"aws-key"</c>, ...), both ways.</summary>
public static class DetectorNames
{
    private static readonly DetectorKinds[] _kinds =
    [
        DetectorKinds.Card, DetectorKinds.Ssn, DetectorKinds.Email, DetectorKinds.Phone,
        DetectorKinds.Iban, DetectorKinds.AwsKey, DetectorKinds.Jwt, DetectorKinds.Pem,
    ];

    /// <summary>Every detector's config name, in <see cref="DetectorKinds"/> bit order.</summary>
    public static IReadOnlyList<string> All { get; } = ["card", "ssn", "email", "phone", "iban", "aws-key", "jwt", "pem"];

    /// <summary>
    /// Parses one config name (exact, lower case). <c>"all"</c> names every detector; anything else
    /// unknown returns false, so the config reader can name the bad value.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> name, out DetectorKinds kind)
    {
        if (name.SequenceEqual("all"))
        {
            kind = DetectorKinds.All;
            return true;
        }

        for (int i = 0; i < _kinds.Length; i++)
        {
            if (name.SequenceEqual(All[i]))
            {
                kind = _kinds[i];
                return true;
            }
        }

        kind = DetectorKinds.None;
        return false;
    }

    /// <summary>The config name of a single detector.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not exactly one detector.</exception>
    public static string GetName(DetectorKinds kind)
    {
        int index = Array.IndexOf(_kinds, kind);
        return index >= 0
            ? All[index]
            : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a single detector.");
    }

    /// <summary>The config names of every detector in <paramref name="kinds"/>, in bit order.</summary>
    public static string[] GetNames(DetectorKinds kinds)
    {
        var names = new List<string>(_kinds.Length);
        for (int i = 0; i < _kinds.Length; i++)
        {
            if ((kinds & _kinds[i]) != 0)
            {
                names.Add(All[i]);
            }
        }

        return [.. names];
    }
}
