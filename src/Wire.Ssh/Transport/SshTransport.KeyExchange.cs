using System.Security.Cryptography;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Transport;

internal sealed partial class SshTransport
{
    private const int MaxExtensions = 64;

    private async Task StartKeyExchangeAsync(CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            SendKexInit();
            await FlushLockedAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes this side's KEXINIT (caller holds the write lock); higher-layer messages are held from now until NEWKEYS.</summary>
    private void SendKexInit()
    {
        string[] kex = _options.KeyExchange;
        if (!_firstKexDone)
        {
            // Markers, not methods: only in the first KEXINIT (strict key exchange and ext-info are settled there).
            kex = IsServer ? [.. kex, SshAlgorithms.StrictServer] : [.. kex, SshAlgorithms.ExtInfoClient, SshAlgorithms.StrictClient];
        }
        string[] hostKeys = IsServer
            ? [.. SshAlgorithms.HostKeys.Where(a => _options.HostKeys.Any(k => k.SignatureAlgorithms.Contains(a)))]
            : _options.HostKeyAlgorithms;
        _localKexInit = SshKexInit.Create(kex, hostKeys, _options.Ciphers, _options.Macs);
        _kexActive = true;
        _sentNewKeys = false;
        WritePacket(_localKexInit.Payload);
    }

    /// <summary>A transport-layer message (or any message while the peer is between its KEXINIT and NEWKEYS).</summary>
    private async ValueTask HandleTransportMessageAsync(ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        byte type = payload.Span[0];
        bool strictFirst = _strict && !_firstKexDone;
        switch (type)
        {
            case SshMessage.Disconnect:
                throw PeerDisconnected(payload.Span);
            case SshMessage.Ignore or SshMessage.Debug or SshMessage.Unimplemented:
                if (strictFirst)
                {
                    SshProtocolException.Throw($"message {type} during the first key exchange (strict key exchange)");
                }
                return;
            case SshMessage.KexInit:
                await OnKexInitAsync(payload, ct).ConfigureAwait(false);
                return;
            case SshMessage.KexEcdhInit when IsServer:
                if (TakeGuess())
                {
                    return;
                }
                await OnEcdhInitAsync(payload, ct).ConfigureAwait(false);
                return;
            case SshMessage.KexEcdhReply when !IsServer:
                await OnEcdhReplyAsync(payload, ct).ConfigureAwait(false);
                return;
            case SshMessage.NewKeys:
                OnNewKeys(payload.Span);
                return;
            default:
                if (SshMessage.IsKeyExchange(type) && TakeGuess())
                {
                    return;
                }
                SshProtocolException.Throw(_peerKexInit is not null || !_firstKexDone
                    ? $"message {type} during a key exchange"
                    : $"unexpected transport message {type}");
                return;
        }
    }

    // A peer whose guessed first kex packet was for the wrong algorithms sends it anyway: it is dropped (RFC 4253 §7).
    private bool TakeGuess()
    {
        if (!_ignoreGuessedPacket)
        {
            return false;
        }
        _ignoreGuessedPacket = false;
        return true;
    }

    private async ValueTask OnKexInitAsync(ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        if (_peerKexInit is not null)
        {
            SshProtocolException.Throw("a second KEXINIT during a key exchange");
        }
        var peer = SshKexInit.Parse(payload.Span);
        if (!_firstKexDone)
        {
            _strict = peer.KeyExchange.Contains(IsServer ? SshAlgorithms.StrictClient : SshAlgorithms.StrictServer);
            if (_strict && LastReceivedSequence != 0)
            {
                SshProtocolException.Throw("KEXINIT was not the first packet (strict key exchange)");
            }
            _peerWantsExtInfo = IsServer && peer.KeyExchange.Contains(SshAlgorithms.ExtInfoClient);
        }
        _peerKexInit = peer;
        _kexActive = true;

        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_localKexInit is null)
            {
                // The peer started a re-exchange: answer with ours before anything else.
                SendKexInit();
            }
            var client = IsServer ? peer : _localKexInit!;
            var server = IsServer ? _localKexInit! : peer;
            _negotiated = SshNegotiated.Choose(client, server);
            _ignoreGuessedPacket = peer.FirstKexPacketFollows && _negotiated.GuessWasWrong(client, server);
            _exchange?.Dispose();
            _exchange = SshKeyExchange.Create(_negotiated.KeyExchange);
            if (!IsServer)
            {
                using var writer = new SshWriter(64);
                writer.Byte(SshMessage.KexEcdhInit).String(_exchange.PublicKey);
                WritePacket(writer.Written);
            }
            await FlushLockedAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async ValueTask OnEcdhInitAsync(ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        if (_exchange is null || _negotiated is null || _localKexInit is null || _peerKexInit is null)
        {
            SshProtocolException.Throw("KEX_ECDH_INIT before KEXINIT");
        }
        var reader = new SshReader(payload.Span);
        reader.ReadByte();
        byte[] clientPublic = reader.ReadString().ToArray();
        reader.EnsureEnd();

        string algorithm = _negotiated.HostKey;
        var hostKey = _options.HostKeys.First(k => k.SignatureAlgorithms.Contains(algorithm));
        byte[] secret = _exchange.Agree(clientPublic);
        byte[] serverPublic = _exchange.PublicKey;
        byte[] hostKeyBlob = hostKey.PublicKey.Blob.ToArray();
        byte[] hash = SshKeyExchange.ExchangeHash(ClientVersion, ServerVersion, _peerKexInit.Payload, _localKexInit.Payload, hostKeyBlob,
            clientPublic, serverPublic, secret);
        if (!_firstKexDone)
        {
            SessionId = hash;
            _serverHostKey = hostKey.PublicKey;
        }
        byte[] signature = hostKey.Sign(algorithm, hash);

        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using (var writer = new SshWriter(hostKeyBlob.Length + signature.Length + 128))
            {
                writer.Byte(SshMessage.KexEcdhReply).String(hostKeyBlob).String(serverPublic).String(signature);
                WritePacket(writer.Written);
            }
            var (clientToServer, serverToClient) = DeriveProtections(secret, hash);
            CryptographicOperations.ZeroMemory(secret);
            _nextIncoming = clientToServer;
            SendNewKeys(serverToClient);
            if (!_firstKexDone && _peerWantsExtInfo)
            {
                using var writer = new SshWriter(128);
                writer.Byte(SshMessage.ExtInfo).UInt32(1).String("server-sig-algs").String(string.Join(',', SshAlgorithms.HostKeys));
                WritePacket(writer.Written);
            }
            ReleaseHeld();
            await FlushLockedAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
        MaybeFinish();
    }

    private async ValueTask OnEcdhReplyAsync(ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        if (_exchange is null || _negotiated is null || _localKexInit is null || _peerKexInit is null)
        {
            SshProtocolException.Throw("KEX_ECDH_REPLY before KEXINIT");
        }
        var reader = new SshReader(payload.Span);
        reader.ReadByte();
        byte[] hostKeyBlob = reader.ReadString().ToArray();
        byte[] serverPublic = reader.ReadString().ToArray();
        byte[] signature = reader.ReadString().ToArray();
        reader.EnsureEnd();

        SshPublicKey hostKey;
        try
        {
            hostKey = SshPublicKey.Parse(hostKeyBlob);
        }
        catch (FormatException e)
        {
            throw new SshProtocolException("the server's host key: " + e.Message, SshDisconnectReason.KeyExchangeFailed);
        }
        string algorithm = _negotiated.HostKey;
        if (!hostKey.SignatureAlgorithms.Contains(algorithm))
        {
            SshProtocolException.Throw($"the server's {hostKey.KeyType} host key does not fit the negotiated {algorithm}", SshDisconnectReason.KeyExchangeFailed);
        }
        byte[] clientPublic = _exchange.PublicKey;
        byte[] secret = _exchange.Agree(serverPublic);
        byte[] hash = SshKeyExchange.ExchangeHash(ClientVersion, ServerVersion, _localKexInit.Payload, _peerKexInit.Payload, hostKeyBlob,
            clientPublic, serverPublic, secret);
        if (!hostKey.Verify(algorithm, hash, signature))
        {
            SshProtocolException.Throw("the server's signature of the exchange hash does not verify", SshDisconnectReason.HostKeyNotVerifiable);
        }
        if (!_firstKexDone)
        {
            if (!_options.VerifyHostKey!(hostKey))
            {
                SshProtocolException.Throw($"the server's host key {hostKey} is not the one expected", SshDisconnectReason.HostKeyNotVerifiable);
            }
            _serverHostKey = hostKey;
            SessionId = hash;
        }
        else if (!hostKey.Equals(_serverHostKey))
        {
            SshProtocolException.Throw("the server's host key changed in a key re-exchange", SshDisconnectReason.HostKeyNotVerifiable);
        }

        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var (clientToServer, serverToClient) = DeriveProtections(secret, hash);
            CryptographicOperations.ZeroMemory(secret);
            _nextIncoming = serverToClient;
            SendNewKeys(clientToServer);
            ReleaseHeld();
            await FlushLockedAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
        MaybeFinish();
    }

    /// <summary>Writes NEWKEYS and switches the outgoing direction to the new keys (caller holds the write lock).</summary>
    private void SendNewKeys(SshPacketProtection outgoing)
    {
        WritePacket([SshMessage.NewKeys]);
        var old = _outgoing;
        _outgoing = outgoing;
        old.Dispose();
        if (_strict)
        {
            _sendSequence = 0;
        }
        _localKexInit = null;
        _sentNewKeys = true;
    }

    /// <summary>Writes what higher layers sent while the keys were changing (caller holds the write lock).</summary>
    private void ReleaseHeld()
    {
        while (_held.Count > 0)
        {
            WritePacket(_held.Dequeue());
        }
        _heldBytes = 0;
    }

    private void OnNewKeys(ReadOnlySpan<byte> payload)
    {
        if (_nextIncoming is null || payload.Length != 1)
        {
            SshProtocolException.Throw("NEWKEYS before the key exchange completed");
        }
        var old = _incoming;
        _incoming = _nextIncoming;
        _nextIncoming = null;
        old.Dispose();
        if (_strict)
        {
            _receiveSequence = 0;
        }
        _peerKexInit = null;
        MaybeFinish();
    }

    /// <summary>Once both NEWKEYS have passed: the exchange is over (reader loop only).</summary>
    private void MaybeFinish()
    {
        if (_sentNewKeys && _peerKexInit is null && _nextIncoming is null && _exchange is not null)
        {
            _exchange.Dispose();
            _exchange = null;
            _sentNewKeys = false;
            _firstKexDone = true;
            KeyExchangeCount++;
            Interlocked.Exchange(ref _bytesSinceKex, 0);
            Interlocked.Exchange(ref _packetsSinceKex, 0);
            _kexActive = false;
        }
    }

    private (SshPacketProtection ClientToServer, SshPacketProtection ServerToClient) DeriveProtections(byte[] secret, byte[] hash)
    {
        var n = _negotiated!;
        byte[] sessionId = SessionId;
        byte[] Key(char letter, int length) => SshKeyExchange.DeriveKey(secret, hash, letter, sessionId, length);

        byte[] ivC = Key('A', SshAlgorithms.IvLength(n.CipherClientToServer));
        byte[] ivS = Key('B', SshAlgorithms.IvLength(n.CipherServerToClient));
        byte[] keyC = Key('C', SshAlgorithms.KeyLength(n.CipherClientToServer));
        byte[] keyS = Key('D', SshAlgorithms.KeyLength(n.CipherServerToClient));
        byte[] macC = n.MacClientToServer.Length == 0 ? [] : Key('E', SshAlgorithms.MacKeyLength(n.MacClientToServer));
        byte[] macS = n.MacServerToClient.Length == 0 ? [] : Key('F', SshAlgorithms.MacKeyLength(n.MacServerToClient));
        try
        {
            return (SshPacketProtection.Create(n.CipherClientToServer, n.MacClientToServer, keyC, ivC, macC),
                SshPacketProtection.Create(n.CipherServerToClient, n.MacServerToClient, keyS, ivS, macS));
        }
        finally
        {
            foreach (var key in (byte[][])[ivC, ivS, keyC, keyS, macC, macS])
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }
    }

    private void OnExtInfo(ReadOnlySpan<byte> payload)
    {
        var reader = new SshReader(payload);
        reader.ReadByte();
        uint count = reader.ReadUInt32();
        if (count > MaxExtensions)
        {
            SshProtocolException.Throw("EXT_INFO lists too many extensions");
        }
        for (uint i = 0; i < count; i++)
        {
            string name = reader.ReadAscii();
            var value = reader.ReadString();
            if (name == "server-sig-algs" && !IsServer)
            {
                var list = new SshReader(WithLength(value));
                ServerSignatureAlgorithms = list.ReadNameList();
            }
        }
    }

    private static byte[] WithLength(ReadOnlySpan<byte> value)
    {
        using var writer = new SshWriter(value.Length + 4);
        return writer.String(value).ToArray();
    }

    private static SshDisconnectedException PeerDisconnected(ReadOnlySpan<byte> payload)
    {
        try
        {
            var reader = new SshReader(payload);
            reader.ReadByte();
            var reason = (SshDisconnectReason)reader.ReadUInt32();
            string description = reader.ReadUtf8();
            if (description.Length > 200)
            {
                description = description[..200];
            }
            description = new string(description.Select(c => char.IsControl(c) ? '?' : c).ToArray());
            return new SshDisconnectedException($"the peer disconnected ({reason}): {description}", reason);
        }
        catch (SshProtocolException)
        {
            return new SshDisconnectedException("the peer disconnected", null);
        }
    }
}
