using System.Collections.Concurrent;
using System.Security.Cryptography;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Sessions;

/// <summary>
/// The live sessions of a gateway, across protocols: each protocol server registers a session once its identity and
/// target are known and disposes the entry when the session ends. An administrator lists them (<see cref="Active"/>)
/// and ends one (<see cref="TryTerminate(string, string)"/>), which fires the session's <see cref="LiveSession.Terminated"/> token; the
/// session then ends the way its protocol says (DESIGN.md §4: PostgreSQL 57P01 FATAL, SSH DISCONNECT by application,
/// HTTP close). Thread-safe.
/// </summary>
public sealed class SessionRegistry
{
    private readonly ConcurrentDictionary<string, LiveSession> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _sequence;

    /// <summary>Creates an empty registry.</summary>
    /// <param name="time">The clock for <see cref="LiveSession.Started"/>; null for the system clock.</param>
    public SessionRegistry(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Adds a live session; dispose the returned entry when the session ends (removes it).
    /// </summary>
    /// <param name="protocol">The session's protocol; it also prefixes the id (<c>pg-</c>, <c>ssh-</c>, <c>http-</c>).</param>
    /// <param name="target">The target's name.</param>
    /// <param name="client">The client's address and port.</param>
    /// <param name="identity">Who the session belongs to.</param>
    /// <param name="grants">
    /// Set when the target requires a grant: the session is bound to its subject's valid grant for the target and ends
    /// when that grant ends; when there is none (it ended since the connection was checked) the session is terminated at
    /// once.
    /// </param>
    /// <returns>The session's entry, with a new unique id.</returns>
    public LiveSession Register(WireProtocol protocol, string target, string client, WireIdentity identity, Grants.GrantRegistry? grants = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(identity);
        string prefix = Prefix(protocol);
        while (true)
        {
            var session = new LiveSession(this, NewId(prefix), protocol, target, client, identity, _time.GetUtcNow(),
                Interlocked.Increment(ref _sequence));
            if (_sessions.TryAdd(session.Id, session))
            {
                Added?.Invoke(session);
                // Bound after it is listed: a grant that ends meanwhile either finds it listed or is seen as ended here.
                if (grants is not null && !grants.Admit(session))
                {
                    session.Terminate("ended because " + Grants.GrantRegistry.NoGrantMessage(target));
                }
                return session;
            }
        }
    }

    /// <summary>Live sessions, oldest first (a snapshot).</summary>
    public IReadOnlyList<LiveSession> Active
    {
        get
        {
            var sessions = new List<LiveSession>(_sessions.Values);
            sessions.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
            return sessions;
        }
    }

    /// <summary>
    /// An administrator terminates session <paramref name="id"/>: its <see cref="LiveSession.Terminated"/> token fires and
    /// its <see cref="LiveSession.TerminationReason"/> becomes <c>ended by an administrator: REASON</c>. False when no
    /// such live session. A session that was already terminated but has not ended yet keeps its first reason, and this
    /// returns true.
    /// </summary>
    /// <param name="id">The session's <see cref="LiveSession.Id"/>.</param>
    /// <param name="reason">Why, for the client, the logs and the recording.</param>
    public bool TryTerminate(string id, string reason)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(reason);
        return _sessions.TryGetValue(id, out var session) && session.Terminate("ended by an administrator: " + reason) != TerminateResult.Ended;
    }

    /// <summary>Terminates <paramref name="session"/> with a reason phrase as is; true when this call terminated it.</summary>
    internal static bool TryTerminate(LiveSession session, string phrase) => session.Terminate(phrase) == TerminateResult.Terminated;

    /// <summary>
    /// Terminates every live session <paramref name="match"/> selects; the number of sessions this call terminated (those
    /// already terminated are not counted again).
    /// </summary>
    /// <param name="match">Which sessions; called once per live session.</param>
    /// <param name="reason">
    /// The <see cref="LiveSession.TerminationReason"/> as is: a phrase that follows "session", such as
    /// <c>ended because the target is retired</c>.
    /// </param>
    public int TerminateWhere(Func<LiveSession, bool> match, string reason)
    {
        ArgumentNullException.ThrowIfNull(match);
        ArgumentNullException.ThrowIfNull(reason);
        int count = 0;
        foreach (var session in Active)
        {
            if (match(session) && session.Terminate(reason) == TerminateResult.Terminated)
            {
                count++;
            }
        }
        return count;
    }

    internal void Remove(LiveSession session)
    {
        if (_sessions.TryRemove(new KeyValuePair<string, LiveSession>(session.Id, session)))
        {
            Removed?.Invoke(session);
        }
    }

    /// <summary>Raised on the registering thread when a session is listed (shared state mirrors it).</summary>
    internal event Action<LiveSession>? Added;

    /// <summary>Raised once when a listed session leaves the list.</summary>
    internal event Action<LiveSession>? Removed;

    private static string Prefix(WireProtocol protocol) => protocol switch
    {
        WireProtocol.Postgres => "pg-",
        WireProtocol.Ssh => "ssh-",
        WireProtocol.Http => "http-",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "unknown protocol"),
    };

    private static string NewId(string prefix)
    {
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        return string.Concat(prefix, Convert.ToHexStringLower(random));
    }

    internal enum TerminateResult : byte
    {
        Terminated,
        AlreadyTerminated,
        Ended,
    }
}

/// <summary>
/// One live session in a <see cref="SessionRegistry"/>: who, where, since when, and how much it has carried. The
/// protocol session adds to the counters as it relays, watches <see cref="Terminated"/>, and disposes the entry when it
/// ends. Counters are read and written with interlocked operations; nothing here allocates per message.
/// </summary>
public sealed class LiveSession : IDisposable
{
    private readonly SessionRegistry _registry;

    // Never disposed: a plain CancellationTokenSource holds no unmanaged resources, and disposing it could race with an
    // administrator's TryTerminate. Registrations on its token are disposed by whoever made them.
    private readonly CancellationTokenSource _terminated = new();
    private readonly Lock _gate = new();
    private long _bytesFromClient;
    private long _bytesToClient;
    private long _commands;
    private string? _terminationReason;
    private string? _grant;
    private bool _disposed;

    internal LiveSession(SessionRegistry registry, string id, WireProtocol protocol, string target, string client, WireIdentity identity,
        DateTimeOffset started, long sequence)
    {
        _registry = registry;
        Id = id;
        Protocol = protocol;
        Target = target;
        Client = client;
        Identity = identity;
        Started = started;
        Sequence = sequence;
    }

    /// <summary>The session's unique id: its protocol (<c>pg-</c>, <c>ssh-</c>, <c>http-</c>) and 16 random hex digits; URL-safe.</summary>
    public string Id { get; }

    /// <summary>The session's protocol.</summary>
    public WireProtocol Protocol { get; }

    /// <summary>The target's name.</summary>
    public string Target { get; }

    /// <summary>The client's address and port.</summary>
    public string Client { get; }

    /// <summary>Who the session belongs to.</summary>
    public WireIdentity Identity { get; }

    /// <summary>When the session was registered.</summary>
    public DateTimeOffset Started { get; }

    /// <summary>Bytes received from the client and relayed so far (approximate: what each protocol counts at its relay).</summary>
    public long BytesFromClient => Interlocked.Read(ref _bytesFromClient);

    /// <summary>Bytes sent to the client so far (approximate, as <see cref="BytesFromClient"/>).</summary>
    public long BytesToClient => Interlocked.Read(ref _bytesToClient);

    /// <summary>
    /// Executions judged so far (PostgreSQL: each Query, Execute or function call; SSH: each request, typed line or
    /// forward; HTTP: each request).
    /// </summary>
    public long Commands => Interlocked.Read(ref _commands);

    /// <summary>Fires when an administrator (or grant expiry) terminates the session; callbacks run on the thread pool.</summary>
    public CancellationToken Terminated => _terminated.Token;

    /// <summary>
    /// Why the session was terminated, as a phrase that follows "session" (<c>ended by an administrator: incident 7</c>,
    /// <c>ended because grant grant-… for target "app" expired</c>); null while it has not been.
    /// </summary>
    public string? TerminationReason => Volatile.Read(ref _terminationReason);

    /// <summary>The id of the grant that admitted the session, when its target requires one; its end ends the session.</summary>
    public string? Grant
    {
        get => Volatile.Read(ref _grant);
        internal set => Volatile.Write(ref _grant, value);
    }

    /// <summary>Registration order, for <see cref="SessionRegistry.Active"/>.</summary>
    internal long Sequence { get; }

    /// <summary>Adds relayed bytes to the counters (interlocked, no allocation).</summary>
    /// <param name="fromClient">Bytes received from the client.</param>
    /// <param name="toClient">Bytes sent to the client.</param>
    public void AddBytes(long fromClient, long toClient)
    {
        if (fromClient != 0)
        {
            Interlocked.Add(ref _bytesFromClient, fromClient);
        }
        if (toClient != 0)
        {
            Interlocked.Add(ref _bytesToClient, toClient);
        }
    }

    /// <summary>Counts one judged execution.</summary>
    public void CountCommand() => Interlocked.Increment(ref _commands);

    /// <summary>Unregisters the session (it no longer shows in <see cref="SessionRegistry.Active"/>); idempotent.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        _registry.Remove(this);
    }

    internal SessionRegistry.TerminateResult Terminate(string reason)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return SessionRegistry.TerminateResult.Ended;
            }
            if (_terminationReason is not null)
            {
                return SessionRegistry.TerminateResult.AlreadyTerminated;
            }
            Volatile.Write(ref _terminationReason, reason);
        }
        // The token is cancelled at once; its callbacks (the session's way of ending) run on the thread pool, so an
        // administrator's request never waits for a session's I/O.
        var callbacks = _terminated.CancelAsync();
        if (!callbacks.IsCompleted)
        {
            callbacks.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        else
        {
            _ = callbacks.Exception;
        }
        return SessionRegistry.TerminateResult.Terminated;
    }
}
