namespace Wire.Enforcement.Identity;

/// <summary>
/// Turns a bearer token presented by a client (a Postgres password, an HTTP bearer token, an SSH
/// keyboard-interactive answer) into a <see cref="WireIdentity"/>.
/// </summary>
public interface IIdentityValidator
{
    /// <summary>
    /// Validates <paramref name="token"/>. Never throws for a bad token: the outcome is a value.
    /// </summary>
    ValueTask<IdentityValidationResult> ValidateAsync(string token, CancellationToken cancellationToken);
}

/// <summary>The outcome of <see cref="IIdentityValidator.ValidateAsync"/>.</summary>
public readonly record struct IdentityValidationResult
{
    /// <summary>The proven identity, or null when validation failed.</summary>
    public WireIdentity? Identity { get; private init; }

    /// <summary>
    /// Why validation failed, for the operator's log only: it never reaches the client and never
    /// contains the token.
    /// </summary>
    public string? FailureReason { get; private init; }

    /// <summary>Whether the token was accepted.</summary>
    public bool Succeeded => Identity is not null;

    /// <summary>A successful validation.</summary>
    public static IdentityValidationResult Success(WireIdentity identity) => new() { Identity = identity };

    /// <summary>A failed validation with a reason for the log.</summary>
    public static IdentityValidationResult Failure(string reason) => new() { FailureReason = reason };
}
