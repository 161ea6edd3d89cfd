using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Wire.Ssh.Transport;

/// <summary>
/// AES in counter mode (NIST SP 800-38A §6.5; RFC 4344 for SSH): the key stream is .NET's AES in ECB mode over
/// consecutive counter blocks (no hand-written cipher), XORed into the data. The 128-bit counter runs big-endian
/// across calls, so one instance encrypts or decrypts one direction's whole stream.
/// </summary>
internal sealed class SshAesCtr : IDisposable
{
    private const int BlockSize = 16;

    // Counter blocks and key stream are made this many bytes at a time.
    private const int Batch = 4096;

    private readonly Aes _aes;
    private readonly byte[] _counter = new byte[BlockSize];
    private readonly byte[] _counters;
    private readonly byte[] _stream;
    private int _streamOffset;
    private int _streamLength;

    public SshAesCtr(ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv)
    {
        if (iv.Length < BlockSize)
        {
            throw new ArgumentException("the counter needs 16 bytes", nameof(iv));
        }
        _aes = Aes.Create();
        _aes.Key = key.ToArray();
        iv[..BlockSize].CopyTo(_counter);
        _counters = ArrayPool<byte>.Shared.Rent(Batch);
        _stream = ArrayPool<byte>.Shared.Rent(Batch);
    }

    /// <summary>XORs the next bytes of the key stream into <paramref name="data"/> (encryption and decryption alike).</summary>
    public void Transform(Span<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_streamOffset == _streamLength)
            {
                Refill(Math.Min(Batch, (data.Length + BlockSize - 1) / BlockSize * BlockSize));
            }
            int n = Math.Min(data.Length, _streamLength - _streamOffset);
            Xor(data[..n], _stream.AsSpan(_streamOffset, n));
            _streamOffset += n;
            data = data[n..];
        }
    }

    private void Refill(int bytes)
    {
        var counters = _counters.AsSpan(0, bytes);
        for (int offset = 0; offset < bytes; offset += BlockSize)
        {
            _counter.CopyTo(counters[offset..]);
            Increment(_counter);
        }
        _streamLength = _aes.EncryptEcb(counters, _stream.AsSpan(0, bytes), PaddingMode.None);
        _streamOffset = 0;
    }

    private static void Increment(byte[] counter)
    {
        for (int i = counter.Length - 1; i >= 0; i--)
        {
            if (++counter[i] != 0)
            {
                return;
            }
        }
    }

    private static void Xor(Span<byte> data, ReadOnlySpan<byte> stream)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var d = MemoryMarshal.Cast<byte, Vector<byte>>(data);
            var s = MemoryMarshal.Cast<byte, Vector<byte>>(stream);
            for (int v = 0; v < d.Length; v++)
            {
                d[v] ^= s[v];
            }
            i = d.Length * Vector<byte>.Count;
        }
        for (; i < data.Length; i++)
        {
            data[i] ^= stream[i];
        }
    }

    public void Dispose()
    {
        _aes.Dispose();
        CryptographicOperations.ZeroMemory(_stream);
        ArrayPool<byte>.Shared.Return(_counters);
        ArrayPool<byte>.Shared.Return(_stream);
    }
}
