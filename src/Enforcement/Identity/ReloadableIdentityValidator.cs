namespace Wire.Enforcement.Identity;

/// <summary>
/// An <see cref="IIdentityValidator"/> whose implementation can be replaced at run time (config
/// reload): validations in flight finish on the validator they started with, new ones use the new one.
/// </summary>
public sealed class ReloadableIdentityValidator : IIdentityValidator
{
    private volatile IIdentityValidator _current;

    /// <summary>Starts with <paramref name="initial"/>.</summary>
    public ReloadableIdentityValidator(IIdentityValidator initial)
        => _current = initial ?? throw new ArgumentNullException(nameof(initial));

    /// <summary>The validator in use.</summary>
    public IIdentityValidator Current => _current;

    /// <summary>Replaces the validator; returns the previous one (for the caller to dispose when idle).</summary>
    public IIdentityValidator Swap(IIdentityValidator next)
        => Interlocked.Exchange(ref _current, next ?? throw new ArgumentNullException(nameof(next)));

    /// <inheritdoc />
    public ValueTask<IdentityValidationResult> ValidateAsync(string token, CancellationToken cancellationToken)
        => _current.ValidateAsync(token, cancellationToken);
}
