using Wire.Enforcement.Diagnostics;

namespace Wire.Enforcement.Transport;

/// <summary>
/// How many clients a listener serves and for how long an idle one may stay (config: each protocol's
/// <c>limits.maxConnections</c>, <c>limits.maxConnectionsPerIdentity</c>, <c>limits.idleTimeout</c>).
/// </summary>
public sealed class ConnectionLimits
{
    /// <summary>The most client connections the listener serves at once; a further one is refused. Default 10000.</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>The most connections one identity (subject) may hold on the listener at once. Default 1000.</summary>
    public int MaxConnectionsPerIdentity { get; init; } = 1_000;

    /// <summary>
    /// How long a session may carry no bytes in either direction before Wire ends it; <see cref="TimeSpan.Zero"/> (the
    /// default) never ends a session for idleness.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.Zero;
}

/// <summary>
/// Counts a listener's connections, in total and per identity, against its <see cref="ConnectionLimits"/>. Lock-free
/// for the total; a small lock for the per-identity table, taken once per login and once per end. Thread-safe. Each
/// connection holds a <see cref="ConnectionLease"/>; a refusal is counted in <c>wire.connections.refused</c> and
/// explained in words that name the config key.
/// </summary>
internal sealed class ConnectionGate
{
    private readonly Dictionary<string, int> _perIdentity = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly KeyValuePair<string, object?> _protocolTag;
    private int _total;

    /// <summary>Creates a gate for <paramref name="limits"/>.</summary>
    /// <param name="limits">The limits to enforce.</param>
    /// <param name="protocol">The listener's config section (<c>postgres</c>, <c>ssh</c>, <c>http</c>): the prefix of the keys
    /// refusals name, and the metric's <c>network.protocol.name</c> (<c>postgres</c> as <c>postgresql</c>).</param>
    public ConnectionGate(ConnectionLimits limits, string protocol)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentException.ThrowIfNullOrEmpty(protocol);
        if (limits.MaxConnections < 1 || limits.MaxConnectionsPerIdentity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(limits), "connection limits must be at least 1");
        }
        if (limits.IdleTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(limits), limits.IdleTimeout, "the idle timeout must not be negative");
        }
        Limits = limits;
        Protocol = protocol;
        _protocolTag = new KeyValuePair<string, object?>("network.protocol.name", Policy.WireProtocolNames.TelemetryName(protocol));
    }

    /// <summary>The limits enforced.</summary>
    public ConnectionLimits Limits { get; }

    /// <summary>The listener's config section, as given.</summary>
    public string Protocol { get; }

    /// <summary>Connections counted now.</summary>
    public int Count => Volatile.Read(ref _total);

    /// <summary>
    /// Counts a new connection in the total if the listener has room (see <see cref="ConnectionLease.Admitted"/>). The
    /// lease is returned either way, so the protocol can tell the client why; disposing it uncounts what it counted.
    /// </summary>
    public ConnectionLease Enter() => new(this, TryEnterTotal());

    /// <summary>Connections <paramref name="subject"/> holds now.</summary>
    /// <param name="subject">The identity's subject.</param>
    public int CountOf(string subject)
    {
        lock (_gate)
        {
            return _perIdentity.GetValueOrDefault(subject);
        }
    }

    /// <summary>Counts a refusal for the total limit and returns the reason to log and tell the client.</summary>
    internal string RefuseTotal()
    {
        WireDiagnostics.ConnectionsRefused.Add(1, _protocolTag, new KeyValuePair<string, object?>("wire.reason", "max_connections"));
        return $"too many connections: this listener serves at most {Limits.MaxConnections} at once ({Protocol}.limits.maxConnections)";
    }

    private bool TryEnterTotal()
    {
        while (true)
        {
            int total = Volatile.Read(ref _total);
            if (total >= Limits.MaxConnections)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _total, total + 1, total) == total)
            {
                return true;
            }
        }
    }

    internal void ExitTotal() => Interlocked.Decrement(ref _total);

    internal bool TryEnter(string subject)
    {
        lock (_gate)
        {
            _perIdentity.TryGetValue(subject, out int count);
            if (count >= Limits.MaxConnectionsPerIdentity)
            {
                return false;
            }
            _perIdentity[subject] = count + 1;
            return true;
        }
    }

    internal string RefuseIdentity(string subject)
    {
        WireDiagnostics.ConnectionsRefused.Add(1, _protocolTag, new KeyValuePair<string, object?>("wire.reason", "max_connections_per_identity"));
        return $"too many connections for {subject}: at most {Limits.MaxConnectionsPerIdentity} at once ({Protocol}.limits.maxConnectionsPerIdentity)";
    }

    internal void Exit(string subject)
    {
        lock (_gate)
        {
            if (_perIdentity.TryGetValue(subject, out int count))
            {
                if (count <= 1)
                {
                    _perIdentity.Remove(subject);
                }
                else
                {
                    _perIdentity[subject] = count - 1;
                }
            }
        }
    }
}

/// <summary>
/// One connection's place in a <see cref="ConnectionGate"/>: in the total if it was admitted, and for at most one identity
/// at a time. Not thread-safe (one session uses it); dispose it when the connection ends.
/// </summary>
internal sealed class ConnectionLease : IDisposable
{
    private readonly ConnectionGate _gate;
    private bool _disposed;

    internal ConnectionLease(ConnectionGate gate, bool admitted)
    {
        _gate = gate;
        Admitted = admitted;
    }

    /// <summary>Whether the listener had room for this connection.</summary>
    public bool Admitted { get; }

    /// <summary>The identity this connection counts for, once <see cref="TryCountFor"/> succeeded.</summary>
    public string? Subject { get; private set; }

    /// <summary>
    /// Counts a refused connection (<c>wire.connections.refused</c>) and returns why, naming the config key; call it when
    /// <see cref="Admitted"/> is false.
    /// </summary>
    public string Refuse() => _gate.RefuseTotal();

    /// <summary>
    /// Counts this connection for <paramref name="subject"/> (moving it from the identity it counted for before). When
    /// that identity holds the most allowed, the connection counts for none, the refusal is counted, and
    /// <paramref name="refusal"/> says why.
    /// </summary>
    /// <param name="subject">The identity's subject.</param>
    /// <param name="refusal">Why the connection is refused; null when it was counted.</param>
    public bool TryCountFor(string subject, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(subject);
        refusal = null;
        if (string.Equals(Subject, subject, StringComparison.Ordinal))
        {
            return true;
        }
        if (Subject is not null)
        {
            _gate.Exit(Subject);
            Subject = null;
        }
        if (!_gate.TryEnter(subject))
        {
            refusal = _gate.RefuseIdentity(subject);
            return false;
        }
        Subject = subject;
        return true;
    }

    /// <summary>Uncounts the connection.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (Admitted)
        {
            _gate.ExitTotal();
        }
        if (Subject is not null)
        {
            _gate.Exit(Subject);
            Subject = null;
        }
    }
}

/// <summary>
/// Ends a session that carried nothing for its idle timeout. The relay calls <see cref="Touch"/> once per batch it moves
/// (a plain increment, no allocation); a timer looks every quarter timeout, so an idle session ends between one and one
/// and a quarter timeouts after its last byte. While Wire itself keeps the session waiting (a review, a connection to
/// the target) it is not idle: <see cref="Hold"/> stops the clock until the returned scope is disposed.
/// </summary>
internal sealed class IdleWatch : IDisposable
{
    private readonly ITimer _timer;
    private readonly Action _onIdle;
    private readonly int _checksPerTimeout;
    private long _activity;
    private long _seen;
    private int _holds;
    private int _quietChecks;
    private int _fired;

    /// <summary>Starts watching.</summary>
    /// <param name="timeout">How long without activity counts as idle; positive.</param>
    /// <param name="onIdle">Runs once, on a timer thread, when the session has been idle for <paramref name="timeout"/>.</param>
    /// <param name="time">The clock; null for the system clock.</param>
    public IdleWatch(TimeSpan timeout, Action onIdle, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _onIdle = onIdle ?? throw new ArgumentNullException(nameof(onIdle));
        _checksPerTimeout = 4;
        var period = timeout / _checksPerTimeout;
        _timer = (time ?? TimeProvider.System).CreateTimer(static state => ((IdleWatch)state!).Check(), this, period, period);
    }

    /// <summary>Whether the session was found idle.</summary>
    public bool Fired => Volatile.Read(ref _fired) != 0;

    /// <summary>Notes activity (bytes moved either way). Called by the relay's pumps; racing increments may be lost, which is harmless.</summary>
    public void Touch() => _activity++;

    /// <summary>Stops the idle clock until the result is disposed (Wire, not the peers, is what the session waits for).</summary>
    public HoldScope Hold()
    {
        Interlocked.Increment(ref _holds);
        return new HoldScope(this);
    }

    /// <summary>Stops watching.</summary>
    public void Dispose() => _timer.Dispose();

    private void Check()
    {
        long activity = Volatile.Read(ref _activity);
        if (activity != _seen || Volatile.Read(ref _holds) > 0)
        {
            _seen = activity;
            _quietChecks = 0;
            return;
        }
        if (++_quietChecks >= _checksPerTimeout && Interlocked.Exchange(ref _fired, 1) == 0)
        {
            _timer.Dispose();
            _onIdle();
        }
    }

    /// <summary>A <see cref="Hold"/> in force; disposing it restarts the idle clock from zero.</summary>
    public readonly struct HoldScope : IDisposable
    {
        private readonly IdleWatch? _watch;

        internal HoldScope(IdleWatch watch) => _watch = watch;

        /// <summary>Ends the hold.</summary>
        public void Dispose()
        {
            if (_watch is not null)
            {
                _watch.Touch();
                Interlocked.Decrement(ref _watch._holds);
            }
        }
    }
}
