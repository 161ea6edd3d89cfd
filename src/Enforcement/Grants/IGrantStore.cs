namespace Wire.Enforcement.Grants;

/// <summary>
/// Where the grants of several gateway instances live (their shared state): each change is made here first, as a
/// compare-and-set, so that two instances never both decide a grant; the store tells every instance's registry of the
/// changes (<see cref="GrantRegistry.Apply"/>). Calls are synchronous: they are rare (a request, a decision, an expiry)
/// and never on a session's path.
/// </summary>
internal interface IGrantStore
{
    /// <summary>The grants to start with: pending and active ones, and recently ended ones.</summary>
    /// <exception cref="Exception">The store is unavailable (<see cref="IsUnavailable"/>): the gateway does not start.</exception>
    IReadOnlyList<Grant> Load();

    /// <summary>Stores a new grant.</summary>
    /// <exception cref="Exception">The store is unavailable (<see cref="IsUnavailable"/>): the request is refused.</exception>
    void Add(Grant grant);

    /// <summary>
    /// Replaces the stored grant with <paramref name="next"/> when its stored status is still <paramref name="expected"/>.
    /// </summary>
    /// <returns>
    /// Whether it was replaced; when not, the grant as stored (another instance's change came first), null when unknown.
    /// </returns>
    /// <exception cref="Exception">The store is unavailable (<see cref="IsUnavailable"/>): nothing changed.</exception>
    (bool Replaced, Grant? Stored) Replace(Grant next, GrantStatus expected);

    /// <summary>Whether <paramref name="exception"/> says the store could not be reached or used (rather than a bug).</summary>
    static bool IsUnavailable(Exception exception) =>
        exception is IOException or TimeoutException or System.Net.Sockets.SocketException or System.Data.Common.DbException or OperationCanceledException;
}
