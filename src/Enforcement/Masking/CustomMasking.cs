using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Wire.Enforcement.Masking;

/// <summary>
/// The detectors and mask styles an embedding host wrote in code (<see cref="IContentDetector"/>, <see cref="IMasker"/>),
/// checked once: mask rules may then name them (<see cref="Policy.RuleSet.Create"/>),
/// and every scanner and masker built from those rules runs them. Immutable and thread-safe.
/// </summary>
public sealed partial class CustomMasking
{
    /// <summary>The longest <see cref="IContentDetector.MaxLength"/> a detector may declare, in bytes.</summary>
    public const int MaxMatchLength = 4096;

    /// <summary>The most detectors one host may add (a scan keeps one pending match per detector on the stack).</summary>
    public const int MaxDetectors = 32;

    private const int MaxNameLength = 32;

    // Before None: static fields are initialized in order.
    private static readonly System.Buffers.SearchValues<char> NameCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    private readonly CustomDetector[] _detectors;
    private readonly ValueMasker[] _maskers;

    /// <summary>Checks and holds <paramref name="detectors"/> and <paramref name="maskers"/>.</summary>
    /// <param name="detectors">The host's detectors.</param>
    /// <param name="maskers">The host's mask styles.</param>
    /// <param name="logger">Where a detector or masker that fails is reported (once each); null logs nothing.</param>
    /// <exception cref="ArgumentException">
    /// A name is not 1 to 32 characters of <c>a-z</c>, <c>0-9</c> and <c>-</c>, is a built-in name or is taken twice; a
    /// <see cref="IContentDetector.MaxLength"/> is out of range; or there are more than <see cref="MaxDetectors"/> detectors.
    /// </exception>
    public CustomMasking(IEnumerable<IContentDetector> detectors, IEnumerable<IMasker> maskers, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(detectors);
        ArgumentNullException.ThrowIfNull(maskers);
        logger ??= NullLogger.Instance;

        var detectorList = new List<CustomDetector>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var detector in detectors)
        {
            ArgumentNullException.ThrowIfNull(detector);
            string what = $"custom detector {detector.GetType().Name}";
            string name = CheckName(detector.Name, what);
            if (name == "all" || DetectorNames.TryParse(name, out _))
            {
                throw new ArgumentException($"{what}: '{name}' is the name of a built-in detector");
            }
            if (!names.Add(name))
            {
                throw new ArgumentException($"{what}: another detector is already named '{name}'");
            }
            int maxLength = detector.MaxLength;
            if (maxLength is < 1 or > MaxMatchLength)
            {
                throw new ArgumentException($"{what}: MaxLength must be from 1 to {MaxMatchLength} bytes");
            }
            detectorList.Add(new CustomDetector(detector, name, maxLength, logger));
        }
        if (detectorList.Count > MaxDetectors)
        {
            throw new ArgumentException($"at most {MaxDetectors} custom detectors may be added");
        }

        var maskerList = new List<ValueMasker>();
        names.Clear();
        foreach (var masker in maskers)
        {
            ArgumentNullException.ThrowIfNull(masker);
            string what = $"custom masker {masker.GetType().Name}";
            string name = CheckName(masker.Name, what);
            if (MaskStyles.TryParse(name, out _))
            {
                throw new ArgumentException($"{what}: '{name}' is the name of a built-in mask style");
            }
            if (!names.Add(name))
            {
                throw new ArgumentException($"{what}: another masker is already named '{name}'");
            }
            maskerList.Add(new ValueMasker(new CustomMasker(masker, name, logger)));
        }

        _detectors = [.. detectorList];
        _maskers = [.. maskerList];
        CustomDetectorNames = [.. _detectors.Select(d => d.Name)];
        CustomStyleNames = [.. _maskers.Select(m => m.CustomName!)];
    }

    /// <summary>No detectors and no mask styles of a host's own.</summary>
    public static CustomMasking None { get; } = new([], []);

    /// <summary>The names of the detectors, in the order they were given.</summary>
    internal IReadOnlyList<string> CustomDetectorNames { get; }

    /// <summary>The names of the mask styles, in the order they were given.</summary>
    internal IReadOnlyList<string> CustomStyleNames { get; }

    /// <summary>The detector named <paramref name="name"/>, if any.</summary>
    internal CustomDetector? FindDetector(string name)
    {
        foreach (var detector in _detectors)
        {
            if (detector.Name == name)
            {
                return detector;
            }
        }
        return null;
    }

    /// <summary>The masker of the style named <paramref name="name"/>, if any.</summary>
    internal ValueMasker? FindMasker(string name)
    {
        foreach (var masker in _maskers)
        {
            if (masker.CustomName == name)
            {
                return masker;
            }
        }
        return null;
    }

    /// <summary>
    /// The style a rule's <c>"style"</c> names: a built-in one, one of these, or (absent, or a name rule validation
    /// would have refused) <c>full</c>.
    /// </summary>
    internal MaskChoice StyleOf(string? name)
    {
        if (name is null)
        {
            return MaskChoice.Full;
        }
        if (MaskStyles.TryParse(name, out var style))
        {
            return new MaskChoice(style, null);
        }
        return FindMasker(name) is { } custom ? new MaskChoice(MaskStyle.Full, custom) : MaskChoice.Full;
    }

    private static string CheckName(string? name, string what)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name.AsSpan().ContainsAnyExcept(NameCharacters))
        {
            throw new ArgumentException($"{what}: the name must be 1 to {MaxNameLength} characters of a-z, 0-9 and '-'");
        }
        return name;
    }

    internal static partial class Log
    {
        [LoggerMessage(EventId = 2501, EventName = "CustomDetectorFailed", Level = LogLevel.Error,
            Message = "The custom detector {Detector} {Failure}: the text from where it was asked to look on is masked; reported once")]
        public static partial void DetectorFailed(ILogger logger, string detector, string failure, Exception? exception);

        [LoggerMessage(EventId = 2502, EventName = "CustomMaskerFailed", Level = LogLevel.Error,
            Message = "The custom masker {Masker} {Failure}: such values are masked with the full style instead; reported once")]
        public static partial void MaskerFailed(ILogger logger, string masker, string failure, Exception? exception);

        [LoggerMessage(EventId = 2503, EventName = "CustomDetectorMatchTooLong", Level = LogLevel.Warning,
            Message = "The custom detector {Detector} matched {Length} bytes, more than its MaxLength {MaxLength}: "
                + "text that arrives in pieces may leak such values; reported once")]
        public static partial void DetectorMatchTooLong(ILogger logger, string detector, int length, int maxLength);
    }
}
