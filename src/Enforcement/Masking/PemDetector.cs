using System.Buffers;

namespace Wire.Enforcement.Masking;

/// <summary>
/// PEM private-key blocks (RFC 7468 §2; OpenSSH and the legacy OpenSSL headers too): a
/// <c>-----BEGIN label-----</c> line whose label ends in <c>PRIVATE KEY</c> (PKCS #8, <c>RSA</c>,
/// <c>EC</c>, <c>DSA</c>, <c>OPENSSH</c>, <c>ENCRYPTED</c>, ...) or <c>PRIVATE KEY BLOCK</c> (PGP), through
/// the END line with the same label. The body may hold only what a PEM body holds (base64, line breaks,
/// also escaped as <c>\n</c> inside JSON or COPY text, and the <c>Proc-Type</c>/<c>DEK-Info</c> headers);
/// when the END line is missing, the block runs as far as such bytes go: a cut key is still a key.
/// </summary>
internal static class PemDetector
{
    private const int MaxLabelLength = 64;

    /// <summary>Bytes of a PEM body, its headers and its END line; never a quote.</summary>
    private static readonly SearchValues<byte> _body = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n\\:,-"u8);

    /// <summary>
    /// The end of the block whose BEGIN line starts at <paramref name="start"/> (where
    /// <c>-----BEGIN </c> is), or -1.
    /// </summary>
    public static int Match(ReadOnlySpan<byte> text, int start)
    {
        if ((start > 0 && text[start - 1] == '-') || !ByteClass.HasAt(text, start, "-----BEGIN "u8))
        {
            return -1;
        }

        int labelStart = start + "-----BEGIN "u8.Length;
        int labelLength = 0;
        while (labelStart + labelLength < text.Length && labelLength <= MaxLabelLength
            && (ByteClass.IsUpperOrDigit(text[labelStart + labelLength]) || text[labelStart + labelLength] == ' '))
        {
            labelLength++;
        }

        ReadOnlySpan<byte> label = text.Slice(labelStart, labelLength);
        int bodyStart = labelStart + labelLength + 5;
        if (!(label.EndsWith(" PRIVATE KEY"u8) || label.SequenceEqual("PRIVATE KEY"u8) || label.EndsWith(" PRIVATE KEY BLOCK"u8))
            || !ByteClass.HasAt(text, labelStart + labelLength, "-----"u8))
        {
            return -1;
        }

        int bodyLength = text[bodyStart..].IndexOfAnyExcept(_body);
        ReadOnlySpan<byte> body = bodyLength < 0 ? text[bodyStart..] : text.Slice(bodyStart, bodyLength);
        int searched = 0;
        while (true)
        {
            int end = body[searched..].IndexOf("-----END "u8);
            if (end < 0)
            {
                // No END line: the block is cut. Trailing white space is left to the text around it.
                return bodyStart + body.TrimEnd(" \t\r\n"u8).Length;
            }

            int endLabel = searched + end + "-----END "u8.Length;
            if (body[endLabel..].StartsWith(label) && body[(endLabel + label.Length)..].StartsWith("-----"u8))
            {
                return bodyStart + endLabel + label.Length + 5;
            }

            searched = endLabel;
        }
    }
}
