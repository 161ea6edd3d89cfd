using System.Diagnostics;
using System.Text;
using Wire.Enforcement.Diagnostics;
using Wire.Http.Protocol;

namespace Wire.Http.Proxy;

/// <summary>What a field means to a proxy (RFC 9110 §7.6.1 hop-by-hop fields, and fields Wire owns).</summary>
internal enum HttpFieldKind : byte
{
    /// <summary>An end-to-end field: forwarded as it is.</summary>
    Other,

    /// <summary><c>Host</c>: replaced by the target's authority.</summary>
    Host,

    /// <summary><c>Authorization</c>: the client's token for Wire; never forwarded.</summary>
    Authorization,

    /// <summary>A field the next hop must not see: Connection, Keep-Alive, Proxy-Connection, Proxy-Authorization, TE, Upgrade, or named by Connection.</summary>
    HopByHop,

    /// <summary><c>Upgrade</c>: forwarded only with an upgrade Wire lets through.</summary>
    Upgrade,

    /// <summary><c>X-Forwarded-*</c> and <c>Forwarded</c>: replaced by Wire's own (a client may not forge them).</summary>
    Forwarded,

    /// <summary><c>Impersonate-*</c>: always dropped (it would ride on Wire's privileged credential).</summary>
    Impersonate,

    /// <summary><c>Transfer-Encoding</c> and <c>Content-Length</c>: forwarded as they are, since the body is.</summary>
    Framing,

    /// <summary>
    /// <c>Sec-WebSocket-Extensions</c>: never forwarded, so no extension (permessage-deflate) is agreed and every frame
    /// stays readable to Wire.
    /// </summary>
    WebSocketExtensions,
}

/// <summary>One field line inside a <see cref="HttpHeadCapture"/>.</summary>
internal readonly record struct HttpField(int Start, int Length, int NameLength, int ValueStart, int ValueLength, HttpFieldKind Kind);

/// <summary>
/// A copy of one message head's start line and field lines, kept while the message is judged and rewritten: the pipe's
/// buffer is released once the head is parsed. Reused for every message of a session.
/// </summary>
internal sealed class HttpHeadCapture
{
    private byte[] _bytes = new byte[2048];
    private int _length;

    public List<HttpField> Fields { get; } = [];

    public Http1Method Method { get; private set; }

    public (int Start, int Length) MethodText { get; private set; }

    public (int Start, int Length) Target { get; private set; }

    public Http1Version Version { get; private set; }

    public int Status { get; private set; }

    public (int Start, int Length) Reason { get; private set; }

    /// <summary>
    /// When the read that completed the head returned (a <see cref="Stopwatch"/> timestamp: the parser reports a head only
    /// once it is whole), for <c>wire.proxy.added_latency</c>; 0 while no listener is attached.
    /// </summary>
    public long ReadAt { get; private set; }

    public void Reset()
    {
        _length = 0;
        Fields.Clear();
        Status = 0;
    }

    public ReadOnlySpan<byte> Span(int start, int length) => _bytes.AsSpan(start, length);

    public ReadOnlySpan<byte> Span((int Start, int Length) range) => _bytes.AsSpan(range.Start, range.Length);

    public ReadOnlySpan<byte> Name(HttpField field) => _bytes.AsSpan(field.Start, field.NameLength);

    public ReadOnlySpan<byte> Value(HttpField field) => _bytes.AsSpan(field.ValueStart, field.ValueLength);

    public ReadOnlySpan<byte> Line(HttpField field) => _bytes.AsSpan(field.Start, field.Length);

    /// <summary>The value of the first field of <paramref name="kind"/>, or empty.</summary>
    public ReadOnlySpan<byte> First(HttpFieldKind kind)
    {
        foreach (var field in Fields)
        {
            if (field.Kind == kind)
            {
                return Value(field);
            }
        }
        return default;
    }

    /// <summary>The value of the first field named <paramref name="name"/> (case-insensitive), or empty.</summary>
    public ReadOnlySpan<byte> First(ReadOnlySpan<byte> name)
    {
        foreach (var field in Fields)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(Name(field), name))
            {
                return Value(field);
            }
        }
        return default;
    }

    public string TargetText => Encoding.ASCII.GetString(Span(Target));

    private int Append(ReadOnlySpan<byte> bytes)
    {
        if (_length + bytes.Length > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _length + bytes.Length));
        }
        bytes.CopyTo(_bytes.AsSpan(_length));
        int start = _length;
        _length += bytes.Length;
        return start;
    }

    /// <summary>
    /// Marks the fields named by the Connection fields' options as hop-by-hop (RFC 9110 §7.6.1): they were meant
    /// for this hop only.
    /// </summary>
    public void ApplyConnectionOptions()
    {
        for (int i = 0; i < Fields.Count; i++)
        {
            if (!System.Text.Ascii.EqualsIgnoreCase(Name(Fields[i]), "connection"u8))
            {
                continue;
            }
            var value = Value(Fields[i]);
            foreach (var range in value.Split((byte)','))
            {
                var option = value[range].Trim(" \t"u8);
                if (option.IsEmpty)
                {
                    continue;
                }
                for (int j = 0; j < Fields.Count; j++)
                {
                    var field = Fields[j];
                    if (field.Kind == HttpFieldKind.Other && System.Text.Ascii.EqualsIgnoreCase(Name(field), option))
                    {
                        Fields[j] = field with { Kind = HttpFieldKind.HopByHop };
                    }
                }
            }
        }
    }

    /// <summary>The handler that fills the capture while <see cref="Http1Parser"/> reads a head.</summary>
    public readonly struct Handler(HttpHeadCapture capture) : IHttp1HeadHandler
    {
        public void OnRequestLine(Http1Method method, ReadOnlySpan<byte> methodText, ReadOnlySpan<byte> target, Http1Version version)
        {
            capture.ReadAt = WireDiagnostics.AddedLatency.Enabled ? Stopwatch.GetTimestamp() : 0;
            capture.Method = method;
            capture.Version = version;
            capture.MethodText = (capture.Append(methodText), methodText.Length);
            capture.Target = (capture.Append(target), target.Length);
        }

        public void OnStatusLine(Http1Version version, int status, ReadOnlySpan<byte> reason)
        {
            capture.ReadAt = WireDiagnostics.AddedLatency.Enabled ? Stopwatch.GetTimestamp() : 0;
            capture.Version = version;
            capture.Status = status;
            capture.Reason = (capture.Append(reason), reason.Length);
        }

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ReadOnlySpan<byte> line)
        {
            int start = capture.Append(line);
            // The value is the line after "name:" without its leading whitespace: keep its offset, not a second copy.
            int valueOffset = name.Length + 1;
            while (valueOffset < line.Length && line[valueOffset] is (byte)' ' or (byte)'\t')
            {
                valueOffset++;
            }
            capture.Fields.Add(new HttpField(start, line.Length, name.Length, start + valueOffset, value.Length, Classify(name)));
        }
    }

    internal static HttpFieldKind Classify(ReadOnlySpan<byte> name)
    {
        switch (name.Length)
        {
            case 2 when System.Text.Ascii.EqualsIgnoreCase(name, "te"u8):
                return HttpFieldKind.HopByHop;
            case 4 when System.Text.Ascii.EqualsIgnoreCase(name, "host"u8):
                return HttpFieldKind.Host;
            case 7 when System.Text.Ascii.EqualsIgnoreCase(name, "upgrade"u8):
                return HttpFieldKind.Upgrade;
            case 9 when System.Text.Ascii.EqualsIgnoreCase(name, "forwarded"u8):
                return HttpFieldKind.Forwarded;
            case 10 when System.Text.Ascii.EqualsIgnoreCase(name, "connection"u8) || System.Text.Ascii.EqualsIgnoreCase(name, "keep-alive"u8):
                return HttpFieldKind.HopByHop;
            case 13 when System.Text.Ascii.EqualsIgnoreCase(name, "authorization"u8):
                return HttpFieldKind.Authorization;
            case 14 when System.Text.Ascii.EqualsIgnoreCase(name, "content-length"u8):
                return HttpFieldKind.Framing;
            case 16 when System.Text.Ascii.EqualsIgnoreCase(name, "proxy-connection"u8):
                return HttpFieldKind.HopByHop;
            case 17 when System.Text.Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8):
                return HttpFieldKind.Framing;
            case 19 when System.Text.Ascii.EqualsIgnoreCase(name, "proxy-authorization"u8):
                return HttpFieldKind.HopByHop;
            case 24 when System.Text.Ascii.EqualsIgnoreCase(name, "sec-websocket-extensions"u8):
                return HttpFieldKind.WebSocketExtensions;
        }
        if (name.Length > 12 && System.Text.Ascii.EqualsIgnoreCase(name[..12], "impersonate-"u8))
        {
            return HttpFieldKind.Impersonate;
        }
        if (name.Length > 12 && System.Text.Ascii.EqualsIgnoreCase(name[..12], "x-forwarded-"u8))
        {
            return HttpFieldKind.Forwarded;
        }
        return HttpFieldKind.Other;
    }
}
