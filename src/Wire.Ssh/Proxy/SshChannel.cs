namespace Wire.Ssh.Proxy;

/// <summary>
/// One channel as Wire relays it: a channel with the client and one with the target, each with its own numbers and its
/// own flow control (RFC 4254 §5.2). Either peer may open it (the client a session or a forwarded connection, the target
/// a connection to a port the client asked it to listen on). Wire grants each peer at most the channel buffer, and grants
/// more to one side only after it forwarded that side's data to the other, so data waiting for the other side's window is
/// bounded by the buffer.
/// </summary>
internal sealed class SshChannel
{
    /// <summary>Values the maskers masked that <see cref="TakeMasked"/> returned already.</summary>
    private long _maskedReported;

    public SshChannel(uint localId, string type, bool openedByClient)
    {
        LocalId = localId;
        Type = type;
        OpenedByClient = openedByClient;
    }

    /// <summary>Wire's number for this channel, on both legs.</summary>
    public uint LocalId { get; }

    /// <summary>The channel type: <c>session</c>, <c>direct-tcpip</c>, <c>forwarded-tcpip</c>, ...</summary>
    public string Type { get; }

    /// <summary>True when the client opened the channel, false when the target did.</summary>
    public bool OpenedByClient { get; }

    /// <summary>Both peers agreed to the channel (the one that did not open it confirmed).</summary>
    public bool Confirmed { get; set; }

    /// <summary>The client's end.</summary>
    public Side Client { get; } = new();

    /// <summary>The target's end.</summary>
    public Side Target { get; } = new();

    /// <summary>
    /// What the client is owed for its channel requests, in the order it asked: null while the target has to answer,
    /// else what Wire answers itself (a reply, or a refusal with its output), held back until the target's answers
    /// before it went out.
    /// </summary>
    public Queue<Func<CancellationToken, ValueTask>?> RepliesToClient { get; } = new();

    /// <summary>
    /// While a request on this channel waits for a reviewer: the client's later messages for it, in order, to be
    /// handled once the decision is in (only this channel waits). Null when nothing is pending.
    /// </summary>
    public Queue<byte[]>? Held { get; set; }

    /// <summary>Cancels a pending review when the client closes the channel or the session ends.</summary>
    public CancellationTokenSource? ReviewCancel { get; set; }

    /// <summary>Wire refused the exec or shell and is closing the channel: the client's data for it goes nowhere.</summary>
    public bool Refused { get; set; }

    /// <summary>The terminal the client asked for (pty-req): type and size; null without a pty.</summary>
    public (string Term, int Columns, int Rows)? Pty { get; set; }

    /// <summary>What runs on the channel once allowed (an exec's command, <c>shell</c>, a subsystem's name), for the recording.</summary>
    public string? Command { get; set; }

    /// <summary>How the target said the command ended (<c>exit 0</c>, <c>signal TERM</c>), for the recording.</summary>
    public string? Exit { get; set; }

    /// <summary>When the command started (a timestamp of the enforcement clock).</summary>
    public long Started { get; set; }

    /// <summary>Output bytes sent to the client.</summary>
    public long OutputBytes { get; set; }

    /// <summary>The terminal recording of a pty session; null when not recorded.</summary>
    public Enforcement.AsciicastWriter? Cast { get; set; }

    /// <summary>Masks stdout (and, in <see cref="ErrorMasker"/>, stderr) on their way to the client; null when not masked.</summary>
    public Wire.Enforcement.Masking.StreamMasker? OutputMasker { get; set; }

    /// <summary>Masks stderr on its way to the client; null when not masked.</summary>
    public Wire.Enforcement.Masking.StreamMasker? ErrorMasker { get; set; }

    /// <summary>Values <see cref="OutputMasker"/> and <see cref="ErrorMasker"/> masked since the last call (for metrics).</summary>
    public long TakeMasked()
    {
        long masked = (OutputMasker?.Masked ?? 0) + (ErrorMasker?.Masked ?? 0);
        long fresh = masked - _maskedReported;
        _maskedReported = masked;
        return fresh;
    }

    /// <summary>The lines typed in an interactive shell, rebuilt from keystrokes so command rules can judge them; null otherwise.</summary>
    public Enforcement.ShellLineEditor? Lines { get; set; }

    /// <summary>A line typed into a shell without a terminal, waiting for its verdict.</summary>
    public System.Buffers.ArrayBufferWriter<byte>? PendingLine { get; set; }

    /// <summary>The shell's echo of the line being typed (with a pty), for lines edited in ways only the shell knows.</summary>
    public Enforcement.TerminalLine? Screen { get; set; }

    /// <summary>Releases output held back by the maskers once it waited long enough.</summary>
    public ITimer? FlushTimer { get; set; }

    /// <summary>The side a message came from, and the other one.</summary>
    public (Side From, Side To) Sides(bool fromClient) => fromClient ? (Client, Target) : (Target, Client);

    /// <summary>Both sides sent CLOSE and were sent one: the channel number may be reused.</summary>
    public bool Finished => Client.Closed && Target.Closed && Client.CloseSent && Target.CloseSent;

    /// <summary>One peer's end of the channel.</summary>
    internal sealed class Side
    {
        /// <summary>The peer's number for the channel.</summary>
        public uint Id { get; set; }

        /// <summary>Sending to this peer: its window and packet size, and what waits for them.</summary>
        public Direction Sending { get; set; } = new(0, 0);

        /// <summary>Window Wire has granted this peer and the peer has not used yet.</summary>
        public long Granted { get; set; }

        /// <summary>Bytes of this peer's data forwarded since Wire last granted it more window.</summary>
        public long Consumed { get; set; }

        /// <summary>The peer sent CLOSE.</summary>
        public bool Closed { get; set; }

        /// <summary>Wire sent the peer CLOSE.</summary>
        public bool CloseSent { get; set; }
    }

    /// <summary>The flow-controlled sending side toward one peer.</summary>
    internal sealed class Direction(uint window, uint maxPacket)
    {
        /// <summary>Bytes the peer lets Wire send now.</summary>
        public long Window { get; set; } = window;

        /// <summary>The largest data the peer takes in one message.</summary>
        public uint MaxPacket { get; } = maxPacket;

        /// <summary>Data waiting for window, in order: at most the channel buffer.</summary>
        public Queue<Pending> Waiting { get; } = new();

        public long WaitingBytes { get; set; }

        /// <summary>How much of the first waiting entry has been sent already.</summary>
        public int HeadOffset { get; set; }

        /// <summary>EOF arrived from the other side and goes out after the waiting data.</summary>
        public bool EofPending { get; set; }

        /// <summary>CLOSE arrived from the other side and goes out after the waiting data and EOF.</summary>
        public bool ClosePending { get; set; }
    }

    /// <summary>Data waiting for window: stdout/stdin (type null) or extended data (stderr).</summary>
    internal readonly record struct Pending(uint? DataType, byte[] Data);
}
