using Wire.Enforcement.Policy;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Proxy;

/// <summary>
/// Global requests (RFC 4254 §4): port and socket forwards the client asks the target to listen on pass through when the
/// target allows them; keepalives, host key announcements and proofs, and no-more-sessions are Wire's to answer, since
/// the client's connection is with Wire. Replies go to the client in the order it asked, whoever gives them.
/// </summary>
internal sealed partial class SshProxySession
{
    private const string HostKeysRequest = "hostkeys-00@openssh.com";
    private const string HostKeysProveRequest = "hostkeys-prove-00@openssh.com";

    /// <summary>Ports the target listens on for the client: (address as the client named it, port).</summary>
    private readonly HashSet<(string Address, uint Port)> _remoteForwards = [];

    /// <summary>Unix sockets the target listens on for the client.</summary>
    private readonly HashSet<string> _streamForwards = new(StringComparer.Ordinal);

    /// <summary>Replies owed to the client's global requests, in order: null while the target's answer is awaited.</summary>
    private readonly Queue<byte[]?> _globalRepliesToClient = new();

    /// <summary>The client's global requests relayed to the target that await its reply, in order.</summary>
    private readonly Queue<RelayedForward> _relayedForwards = new();

    private readonly record struct RelayedForward(string Request, string Address, uint Port);

    private async ValueTask OnClientGlobalRequestAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        var reader = new SshReader(message.Span[1..]);
        string request = reader.ReadAscii();
        bool wantReply = reader.ReadBoolean();
        switch (request)
        {
            case "tcpip-forward" or "cancel-tcpip-forward":
            {
                string address = reader.ReadUtf8();
                uint port = reader.ReadUInt32();
                reader.EnsureEnd();
                await JudgeForwardAsync(message, new RelayedForward(request, address, port), SshForwarding.Remote, "remote TCP forwarding", wantReply, ct)
                    .ConfigureAwait(false);
                return;
            }
            case "streamlocal-forward@openssh.com" or "cancel-streamlocal-forward@openssh.com":
            {
                string path = reader.ReadUtf8();
                await JudgeForwardAsync(message, new RelayedForward(request, path, 0), SshForwarding.StreamLocal, "Unix socket forwarding", wantReply, ct)
                    .ConfigureAwait(false);
                return;
            }
            case "no-more-sessions@openssh.com":
                // The client will open no further sessions; one that tries anyway is refused (sshd would disconnect).
                _noMoreSessions = true;
                await GlobalReplyAsync([SshMessage.RequestSuccess], wantReply, ct).ConfigureAwait(false);
                return;
            case HostKeysProveRequest:
                await GlobalReplyAsync(ProveHostKeys(message.Span[(message.Length - reader.Remaining)..]), wantReply, ct).ConfigureAwait(false);
                return;
            default:
                // keepalive@openssh.com and anything unknown: failure is the answer OpenSSH gives too.
                await GlobalReplyAsync([SshMessage.RequestFailure], wantReply, ct).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>
    /// A listener the client asks the target for passes when the target allows that kind and the rules do (a review
    /// holds the client's later global requests until decided); cancelling one always passes.
    /// </summary>
    private async ValueTask JudgeForwardAsync(ReadOnlyMemory<byte> message, RelayedForward forward, SshForwarding kind, string what, bool wantReply,
        CancellationToken ct)
    {
        bool streamLocal = forward.Request.Contains("streamlocal", StringComparison.Ordinal);
        string destination = streamLocal ? forward.Address : HostPort(forward.Address, forward.Port);
        if (!Allows(kind))
        {
            Log.ForwardRefused(_logger, _id, forward.Request, destination, Disabled(what));
            await GlobalReplyAsync([SshMessage.RequestFailure], wantReply, ct).ConfigureAwait(false);
            return;
        }
        if (!forward.Request.StartsWith("cancel-", StringComparison.Ordinal)
            && Decide(new SshAccess(streamLocal ? "streamlocal-forward" : "tcpip-forward", null, destination)) is { Action: not PolicyAction.Allow } decision)
        {
            if (decision.Action == PolicyAction.Deny)
            {
                Log.ForwardRefused(_logger, _id, forward.Request, destination, decision.Refusal!);
                await GlobalReplyAsync([SshMessage.RequestFailure], wantReply, ct).ConfigureAwait(false);
                return;
            }
            byte[] held = message.ToArray();
            StartReview(new SshAccess(streamLocal ? "streamlocal-forward" : "tcpip-forward", null, destination), decision.Verdict, null, async (refusal, token) =>
            {
                if (refusal is null)
                {
                    await RelayForwardAsync(held, forward, destination, wantReply, token).ConfigureAwait(false);
                }
                else
                {
                    Log.ForwardRefused(_logger, _id, forward.Request, destination, refusal);
                    await GlobalReplyAsync([SshMessage.RequestFailure], wantReply, token).ConfigureAwait(false);
                }
            }, global: true);
            return;
        }
        await RelayForwardAsync(message, forward, destination, wantReply, ct).ConfigureAwait(false);
    }

    /// <summary>Sends the client's forward request on to the target; its reply comes back in order.</summary>
    private async ValueTask RelayForwardAsync(ReadOnlyMemory<byte> message, RelayedForward forward, string destination, bool wantReply, CancellationToken ct)
    {
        if (!await EnsureTargetAsync(ct).ConfigureAwait(false))
        {
            await GlobalReplyAsync([SshMessage.RequestFailure], wantReply, ct).ConfigureAwait(false);
            return;
        }
        Log.ForwardRequested(_logger, _id, forward.Request, destination);
        if (wantReply)
        {
            _globalRepliesToClient.Enqueue(null);
            _relayedForwards.Enqueue(forward);
        }
        else
        {
            // Nothing will say whether the target agreed: take it at its word.
            Forwarded(forward, assignedPort: null);
        }
        await _target!.SendAsync(message, ct).ConfigureAwait(false);
    }

    /// <summary>The target's answer to the oldest relayed forward: noted, then passed on, with Wire's own answers queued behind it.</summary>
    private async ValueTask OnTargetGlobalReplyAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        if (!_relayedForwards.TryDequeue(out var forward))
        {
            throw new SshProtocolException("the target answered a global request it was not sent");
        }
        if (message.Span[0] == SshMessage.RequestSuccess)
        {
            uint? assigned = null;
            if (forward is { Request: "tcpip-forward", Port: 0 })
            {
                // Port 0 asks the target to choose; the reply names the port it chose.
                var reader = new SshReader(message.Span[1..]);
                assigned = reader.ReadUInt32();
            }
            Forwarded(forward, assigned);
        }
        // The first reply still owed is this one: the queue holds null at its place.
        _globalRepliesToClient.Dequeue();
        await _client!.SendAsync(message.ToArray(), ct).ConfigureAwait(false);
        while (_globalRepliesToClient.TryPeek(out var next) && next is not null)
        {
            _globalRepliesToClient.Dequeue();
            await _client.SendAsync(next, ct).ConfigureAwait(false);
        }
    }

    private void Forwarded(RelayedForward forward, uint? assignedPort)
    {
        switch (forward.Request)
        {
            case "tcpip-forward":
                _remoteForwards.Add((forward.Address, assignedPort ?? forward.Port));
                break;
            case "cancel-tcpip-forward":
                _remoteForwards.Remove((forward.Address, forward.Port));
                break;
            case "streamlocal-forward@openssh.com":
                _streamForwards.Add(forward.Address);
                break;
            default:
                _streamForwards.Remove(forward.Address);
                break;
        }
    }

    /// <summary>Wire's own answer to a client's global request, after the answers the target still owes before it.</summary>
    private async ValueTask GlobalReplyAsync(byte[] reply, bool wantReply, CancellationToken ct)
    {
        if (!wantReply)
        {
            return;
        }
        if (_globalRepliesToClient.Count > 0)
        {
            _globalRepliesToClient.Enqueue(reply);
            return;
        }
        await _client!.SendAsync(reply, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The target's global requests are for Wire, its client: its host keys (hostkeys-00) are not the client's business,
    /// keepalives and anything else get the failure OpenSSH clients answer.
    /// </summary>
    private ValueTask OnTargetGlobalRequestAsync(ReadOnlySpan<byte> message, CancellationToken ct)
    {
        return RequestHead(message[1..]).WantReply ? _target!.SendAsync(new byte[] { SshMessage.RequestFailure }, ct) : ValueTask.CompletedTask;
    }

    /// <summary>
    /// After login, Wire tells the client all its host keys (OpenSSH's hostkeys-00 extension), so a client that knows one
    /// of them can learn the others and follow a key rotation (ssh's UpdateHostKeys).
    /// </summary>
    private ValueTask AnnounceHostKeysAsync(CancellationToken ct)
    {
        using var announce = new SshWriter(128 + 600 * _options.HostKeys.Count);
        announce.Byte(SshMessage.GlobalRequest).String(HostKeysRequest).Boolean(false);
        foreach (var key in _options.HostKeys)
        {
            announce.String(key.PublicKey.Blob);
        }
        return _client!.SendAsync(announce.ToArray(), ct);
    }

    /// <summary>
    /// Proves Wire holds the private halves of the host keys a client asks about (hostkeys-prove-00): a signature per key
    /// over the request name, the session identifier and the key. Failure when a key is not Wire's.
    /// </summary>
    private byte[] ProveHostKeys(ReadOnlySpan<byte> keys)
    {
        using var reply = new SshWriter(128);
        reply.Byte(SshMessage.RequestSuccess);
        var reader = new SshReader(keys);
        while (reader.Remaining > 0)
        {
            var blob = reader.ReadString();
            SshPrivateKey? key = null;
            foreach (var candidate in _options.HostKeys)
            {
                key ??= candidate.PublicKey.Blob.SequenceEqual(blob) ? candidate : null;
            }
            if (key is null)
            {
                return [SshMessage.RequestFailure];
            }
            // RSA signs as the key exchange did when it used RSA, else with SHA-512; other keys have one algorithm.
            string negotiated = _client!.Negotiated!.HostKey;
            string algorithm = key.KeyType != SshPublicKey.Rsa ? key.SignatureAlgorithms[0]
                : negotiated is SshPublicKey.RsaSha256 or SshPublicKey.RsaSha512 ? negotiated : SshPublicKey.RsaSha512;
            using var signed = new SshWriter(256 + blob.Length);
            signed.String(HostKeysProveRequest).String(_client.SessionId).String(blob);
            reply.String(key.Sign(algorithm, signed.Written));
        }
        return reply.ToArray();
    }
}
