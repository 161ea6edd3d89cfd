using Wire.Enforcement.Approvals;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Sessions;

namespace Wire.Enforcement;

/// <summary>
/// The enforcement services a protocol server consults for every session: the rules in force, the approval broker
/// and the clock. One instance is shared by all listeners of a host.
/// </summary>
public sealed class WireEnforcement
{
    private readonly SessionRegistry? _sessions;

    /// <summary>The rules in force; swapped on reload. Default: no rules, everything allowed.</summary>
    public RuleSetProvider Rules { get; init; } = new(RuleSet.AllowAll);

    /// <summary>Where reviews go. Default: an <see cref="InMemoryApprovalBroker"/>.</summary>
    public IApprovalBroker Approvals { get; init; } = new InMemoryApprovalBroker();

    /// <summary>Starts a recorder per session; null records nothing.</summary>
    public ISessionRecorderFactory? Recorder { get; init; }

    /// <summary>
    /// The HMAC key of the <c>digits</c> mask style (equal values give equal masks under one key). Default: random per
    /// process, so masks cannot be linked across restarts.
    /// </summary>
    public ReadOnlyMemory<byte> MaskingKey { get; init; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// Live sessions are registered here when set (listed, counted and terminable by an administrator); null registers
    /// nothing.
    /// </summary>
    public SessionRegistry? Sessions
    {
        get => _sessions ?? Grants?.Sessions;
        init => _sessions = value;
    }

    /// <summary>
    /// Just-in-time grants, for targets and rules that require one; null when the gateway has none (such targets and rules
    /// then refuse everyone). Its <see cref="GrantRegistry.Sessions"/> is also <see cref="Sessions"/> when that is not set.
    /// </summary>
    public GrantRegistry? Grants { get; init; }

    /// <summary>The clock for timeouts and timestamps.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
