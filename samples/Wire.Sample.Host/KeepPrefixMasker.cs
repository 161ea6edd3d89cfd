using Wire.Enforcement.Masking;

namespace Wire.Sample.Host;

/// <summary>A mask style written in code: keeps a value's prefix up to its first hyphen (<c>EMP-******</c>), stars the rest.</summary>
public sealed class KeepPrefixMasker : IMasker
{
    /// <inheritdoc />
    public string Name => "keep-prefix";

    /// <inheritdoc />
    public void Mask(Span<byte> utf8Value)
    {
        int hyphen = utf8Value.IndexOf((byte)'-');
        utf8Value[(hyphen + 1)..].Fill((byte)'*');
    }
}
