namespace Wire.Ssh.Proxy;

/// <summary>
/// One channel as Wire relays it: a channel with the client and one with the target, each with its own numbers and its
/// own flow control (RFC 4254 §5.2). Wire grants each peer at most the channel buffer; it grants more to one side only
/// after it forwarded that side's data to the other, so data waiting for the other side's window is bounded by the
/// buffer.
/// </summary>
internal sealed class SshChannel
{
    public SshChannel(uint localId, uint clientId, uint clientWindow, uint clientMaxPacket, string type)
    {
        LocalId = localId;
        ClientId = clientId;
        ToClient = new Direction(clientWindow, clientMaxPacket);
        Type = type;
    }

    /// <summary>Wire's number for this channel, on both legs.</summary>
    public uint LocalId { get; }

    /// <summary>The client's number for it.</summary>
    public uint ClientId { get; }

    /// <summary>The target's number for it, once the target confirmed the open.</summary>
    public uint TargetId { get; set; }

    public string Type { get; }

    /// <summary>Sending to the client: its window and packet size, and what waits for them.</summary>
    public Direction ToClient { get; }

    /// <summary>Sending to the target (set when the target confirms).</summary>
    public Direction ToTarget { get; set; } = new(0, 0);

    /// <summary>Bytes of the client's data forwarded since Wire last granted the client more window.</summary>
    public long ClientConsumed { get; set; }

    /// <summary>Bytes of the target's data forwarded since Wire last granted the target more window.</summary>
    public long TargetConsumed { get; set; }

    /// <summary>Window Wire has granted the client and the client has not used yet.</summary>
    public long ClientGranted { get; set; }

    /// <summary>Window Wire has granted the target and the target has not used yet.</summary>
    public long TargetGranted { get; set; }

    public bool ClientClosed { get; set; }

    public bool TargetClosed { get; set; }

    public bool CloseSentToClient { get; set; }

    public bool CloseSentToTarget { get; set; }

    /// <summary>The flow-controlled sending side toward one peer.</summary>
    internal sealed class Direction(uint window, uint maxPacket)
    {
        /// <summary>Bytes the peer lets Wire send now.</summary>
        public long Window { get; set; } = window;

        /// <summary>The largest data the peer takes in one message.</summary>
        public uint MaxPacket { get; set; } = maxPacket;

        /// <summary>Data (and EOF) waiting for window, in order: at most the channel buffer.</summary>
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
