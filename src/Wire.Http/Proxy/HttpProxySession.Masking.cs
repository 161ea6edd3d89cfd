using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Masking;
using Wire.Http.Enforcement;
using Wire.Http.Protocol;

namespace Wire.Http.Proxy;

internal sealed partial class HttpProxySession
{
    // Text bodies are scanned with this much held back at the end of each read, so a value cut by the read is seen whole
    // with the next one (the detectors' values are shorter; a longer one is found in the next window's overlap).
    private const int TextHoldBack = 256;

    private enum MaskedContent : byte
    {
        None,
        Json,
        Text,
        Refused,
    }

    /// <summary>What the response's fields say about its body, for a masked route.</summary>
    private MaskedContent ContentOf()
    {
        var encoding = _response.First("content-encoding"u8).Trim((byte)' ');
        if (!encoding.IsEmpty && !System.Text.Ascii.EqualsIgnoreCase(encoding, "identity"u8))
        {
            return MaskedContent.Refused;
        }
        var type = _response.First("content-type"u8);
        int semicolon = type.IndexOf((byte)';');
        var media = (semicolon < 0 ? type : type[..semicolon]).Trim((byte)' ');
        if (System.Text.Ascii.EqualsIgnoreCase(media, "application/json"u8)
            || media.Length > 5 && System.Text.Ascii.EqualsIgnoreCase(media[^5..], "+json"u8))
        {
            return MaskedContent.Json;
        }
        if (media.Length > 5 && System.Text.Ascii.EqualsIgnoreCase(media[..5], "text/"u8)
            || System.Text.Ascii.EqualsIgnoreCase(media, "application/yaml"u8) || System.Text.Ascii.EqualsIgnoreCase(media, "application/xml"u8))
        {
            return MaskedContent.Text;
        }
        return MaskedContent.Refused;
    }

    private static void WriteChunk(PipeWriter output, ReadOnlySpan<byte> data)
    {
        Span<byte> size = stackalloc byte[16];
        data.Length.TryFormat(size, out int digits, "x", CultureInfo.InvariantCulture);
        output.Write(size[..digits]);
        output.Write("\r\n"u8);
        output.Write(data);
        output.Write("\r\n"u8);
    }

    /// <summary>
    /// Streams a response body through the masker: payload bytes are gathered in a window (one copy), masked in place,
    /// and what is final goes out (a second copy). A Content-Length body keeps its length; a chunked one is re-framed
    /// into chunks of what is final, with the upstream's last chunk and trailers passed on as they are.
    /// </summary>
    private async ValueTask<(bool Complete, long Bytes, long Masked, byte[]? Sample)> ForwardMaskedBodyAsync(PipeReader input, PipeWriter output,
        Http1BodyReader body, bool chunked, MaskedContent content, HttpMaskPlan plan, CancellationToken ct)
    {
        var json = content == MaskedContent.Json ? new JsonStreamMasker(plan.Fields, plan.Scanner) : null;
        var scanner = plan.Scanner;
        byte[] window = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var lastChunk = new ArrayBufferWriter<byte>(64);
        var sample = new ArrayBufferWriter<byte>(HttpBodySampleEvent.SampleBytes);
        int length = 0;
        long sent = 0;
        long maskedText = 0;
        long maskedCounted = 0;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(ct).ConfigureAwait(false);
                long started = LatencyStart();
                long sentBefore = sent;
                var buffer = result.Buffer;
                var reader = new SequenceReader<byte>(buffer);
                try
                {
                    while (!body.IsComplete && body.TryRead(ref reader, out var part, out bool isPayload))
                    {
                        if (isPayload)
                        {
                            if (length + part.Length > window.Length)
                            {
                                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(int.MaxValue, Math.Max(window.Length * 2L, length + part.Length)));
                                window.AsSpan(0, length).CopyTo(larger);
                                ArrayPool<byte>.Shared.Return(window);
                                window = larger;
                            }
                            part.CopyTo(window.AsSpan(length));
                            length += (int)part.Length;
                        }
                        else if (body.InTrailers || body.IsComplete)
                        {
                            // The last chunk and its trailers are passed on unchanged, after the masked data.
                            Write(lastChunk, part);
                        }
                    }

                    bool final = body.IsComplete || result.IsCompleted && body.EndsAtClose;
                    plan.ScrubCredentials(window.AsSpan(0, length));
                    int ready;
                    if (json is not null)
                    {
                        ready = json.Process(window.AsSpan(0, length), final);
                    }
                    else
                    {
                        if (scanner is not null)
                        {
                            maskedText += scanner.MaskInPlace(window.AsSpan(0, length));
                        }
                        // A host's detector may declare longer matches than the built-in ones: hold back enough to see them whole.
                        ready = final ? length : Math.Max(0, length - Math.Max(TextHoldBack, scanner?.CustomMaxLength ?? 0));
                    }
                    if (ready > 0)
                    {
                        if (sample.WrittenCount < HttpBodySampleEvent.SampleBytes)
                        {
                            sample.Write(window.AsSpan(0, Math.Min(ready, HttpBodySampleEvent.SampleBytes - sample.WrittenCount)));
                        }
                        if (chunked)
                        {
                            WriteChunk(output, window.AsSpan(0, ready));
                        }
                        else
                        {
                            output.Write(window.AsSpan(0, ready));
                        }
                        sent += ready;
                        window.AsSpan(ready, length - ready).CopyTo(window);
                        length -= ready;
                    }
                    if (body.IsComplete && lastChunk.WrittenCount > 0)
                    {
                        output.Write(lastChunk.WrittenSpan);
                    }
                }
                finally
                {
                    input.AdvanceTo(reader.Position, body.IsComplete ? reader.Position : buffer.End);
                }
                var flush = await output.FlushAsync(ct).ConfigureAwait(false);
                Relayed(sent - sentBefore, started, toClient: true);
                long masked = (json?.MaskedValues ?? 0) + maskedText;
                if (masked > maskedCounted)
                {
                    WireDiagnostics.Masked.Add(masked - maskedCounted, ProtocolTag);
                    maskedCounted = masked;
                }
                if (body.IsComplete)
                {
                    return (true, sent, (json?.MaskedValues ?? 0) + maskedText, sample.WrittenSpan.ToArray());
                }
                if (result.IsCompleted)
                {
                    return (body.EndsAtClose, sent, (json?.MaskedValues ?? 0) + maskedText, sample.WrittenSpan.ToArray());
                }
                if (flush.IsCompleted)
                {
                    return (false, sent, (json?.MaskedValues ?? 0) + maskedText, sample.WrittenSpan.ToArray());
                }
            }
        }
        catch (Wire.Enforcement.ProtocolViolationException e) when (e.Code != 502)
        {
            // Malformed JSON from the target: a response error (502, or a closed connection once the head went out).
            throw new Wire.Enforcement.ProtocolViolationException("the response body is not valid JSON: " + e.Message, 502);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
        }
    }
}
