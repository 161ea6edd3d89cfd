using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;

namespace Wire.Postgres.Proxy;

/// <summary>
/// Maps the BackendKeyData Wire hands to clients onto the upstream server's own key, so a
/// CancelRequest sent to Wire can be forwarded without the client ever learning upstream details.
/// </summary>
internal sealed class PgCancelRegistry
{
    private readonly ConcurrentDictionary<int, Entry> _entries = new();

    /// <summary>Allocates a fresh (process id, secret) pair for a session and remembers its upstream key.</summary>
    public (int ProcessId, int SecretKey) Register(IPEndPoint upstream, int upstreamProcessId, int upstreamSecretKey)
    {
        int secret = RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
        while (true)
        {
            int processId = RandomNumberGenerator.GetInt32(1, int.MaxValue);
            if (_entries.TryAdd(processId, new Entry(secret, upstream, upstreamProcessId, upstreamSecretKey)))
            {
                return (processId, secret);
            }
        }
    }

    /// <summary>
    /// Lets a session answer cancels itself first: <paramref name="cancelLocally"/> returns true when it cancelled
    /// something Wire holds (a statement waiting for review), so nothing needs to reach the server.
    /// </summary>
    public void SetLocalCancel(int processId, Func<bool> cancelLocally)
    {
        if (_entries.TryGetValue(processId, out var entry))
        {
            entry.CancelLocally = cancelLocally;
        }
    }

    /// <summary>Runs the session's own cancel handler for a verified key; true when that settled the cancel.</summary>
    public bool TryCancelLocally(int processId) =>
        _entries.TryGetValue(processId, out var entry) && entry.CancelLocally is { } cancel && cancel();

    /// <summary>Forgets a session's key.</summary>
    public void Unregister(int processId) => _entries.TryRemove(processId, out _);

    /// <summary>Finds the upstream key for a client's cancel key; the secret is compared in constant time.</summary>
    public bool TryResolve(int processId, int secretKey, out IPEndPoint upstream, out int upstreamProcessId, out int upstreamSecretKey)
    {
        if (_entries.TryGetValue(processId, out var entry))
        {
            Span<byte> expected = stackalloc byte[4];
            Span<byte> given = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(expected, entry.Secret);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(given, secretKey);
            if (CryptographicOperations.FixedTimeEquals(expected, given))
            {
                upstream = entry.Upstream;
                upstreamProcessId = entry.UpstreamProcessId;
                upstreamSecretKey = entry.UpstreamSecretKey;
                return true;
            }
        }

        upstream = null!;
        upstreamProcessId = 0;
        upstreamSecretKey = 0;
        return false;
    }

    private sealed record Entry(int Secret, IPEndPoint Upstream, int UpstreamProcessId, int UpstreamSecretKey)
    {
        public Func<bool>? CancelLocally { get; set; }
    }
}
