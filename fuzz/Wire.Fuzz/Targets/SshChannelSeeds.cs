using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using static Wire.Fuzz.Targets.SshChannelsFuzzTarget;

namespace Wire.Fuzz.Targets;

/// <summary>
/// Seeds for <see cref="SshChannelsFuzzTarget"/>: the conversations the proxy tests run against a real sshd (an exec
/// with a pty, an interactive shell under rules, local and remote forwards, agent, X11, Unix sockets, host key
/// proofs), written as messages, and a few that break the protocol. Wire numbers its channels 0, 1, ... in the order
/// they open; both peers address a channel by Wire's number.
/// </summary>
public static class SshChannelSeeds
{
    private const uint Window = 2 << 20;
    private const uint MaxPacket = 32 * 1024;

    /// <summary>Every seed.</summary>
    public static IReadOnlyList<byte[]> All { get; } = Build();

    private static ScriptedMessage C(SshWriter message) => Take(message, fromTarget: false);

    private static ScriptedMessage T(SshWriter message) => Take(message, fromTarget: true);

    private static ScriptedMessage Take(SshWriter message, bool fromTarget)
    {
        using (message)
        {
            return new ScriptedMessage(fromTarget, message.ToArray());
        }
    }

    private static SshWriter Message(byte type) => new SshWriter(128).Byte(type);

    private static SshWriter Open(string type, uint sender, uint window = Window, uint maxPacket = MaxPacket) =>
        Message(SshMessage.ChannelOpen).String(type).UInt32(sender).UInt32(window).UInt32(maxPacket);

    private static SshWriter Confirm(uint recipient, uint sender, uint window = Window, uint maxPacket = MaxPacket) =>
        Message(SshMessage.ChannelOpenConfirmation).UInt32(recipient).UInt32(sender).UInt32(window).UInt32(maxPacket);

    private static SshWriter Request(uint channel, string request, bool wantReply) =>
        Message(SshMessage.ChannelRequest).UInt32(channel).String(request).Boolean(wantReply);

    private static SshWriter Global(string request, bool wantReply) => Message(SshMessage.GlobalRequest).String(request).Boolean(wantReply);

    private static SshWriter Data(uint channel, string text) => Message(SshMessage.ChannelData).UInt32(channel).String(text);

    private static SshWriter Simple(byte type, uint channel) => Message(type).UInt32(channel);

    private static SshWriter PtyRequest(uint channel, uint columns, uint rows) =>
        Request(channel, "pty-req", wantReply: true).String("xterm-256color").UInt32(columns).UInt32(rows).UInt32(640).UInt32(480)
            .String([1, 0, 0, 0, 3, 53, 0, 0, 0, 1, 0]);

    private static List<byte[]> Build()
    {
        const byte allForwards = 0x1F;
        byte[] wireHostKey;
        using (var key = SshPrivateKey.FromEd25519Seed(Enumerable.Repeat((byte)1, 32).ToArray()))
        {
            wireHostKey = key.PublicKey.Blob.ToArray();
        }

        return
        [
            // An exec on a pty under rules: output with secrets, stderr, a window change, the exit status, both closes.
            Encode(allForwards | Enforce,
            [
                C(Open("session", 0)),
                T(Confirm(0, 100)),
                C(PtyRequest(0, 80, 24)),
                T(Simple(SshMessage.ChannelSuccess, 0)),
                C(Request(0, "env", wantReply: false).String("LANG").String("C.UTF-8")),
                C(Request(0, "exec", wantReply: true).String("cat /etc/hostname")),
                T(Simple(SshMessage.ChannelSuccess, 0)),
                C(Data(0, "stdin data\n")),
                T(Data(0, "host AKIAIOSFODNN7EXAMPLE alice@example.com 4111 1111 1111 1111\n")),
                T(Message(SshMessage.ChannelExtendedData).UInt32(0).UInt32(1).String("warn: -----BEGIN RSA PRIVATE KEY-----\n")),
                C(Message(SshMessage.ChannelWindowAdjust).UInt32(0).UInt32(4096)),
                C(Request(0, "window-change", wantReply: false).UInt32(120).UInt32(40).UInt32(0).UInt32(0)),
                T(Request(0, "exit-status", wantReply: false).UInt32(0)),
                T(Simple(SshMessage.ChannelEof, 0)),
                T(Simple(SshMessage.ChannelClose, 0)),
                C(Simple(SshMessage.ChannelClose, 0)),
            ]),
            // An interactive shell under rules with tiny windows: typed lines, a denied one, cursor keys, a paste.
            Encode(allForwards | Enforce | SmallWindows,
            [
                C(Open("session", 0, 64, 32)),
                T(Confirm(0, 5, 64, 32)),
                C(PtyRequest(0, 100, 30)),
                T(Simple(SshMessage.ChannelSuccess, 0)),
                C(Request(0, "shell", wantReply: true)),
                T(Simple(SshMessage.ChannelSuccess, 0)),
                T(Data(0, "$ ")),
                C(Data(0, "ls -l\r")),
                T(Data(0, "ls -l\r\ntotal 0\r\n$ ")),
                C(Data(0, "rm -rf /tmp/x\r")),
                C(Data(0, "toch\u001b[D\u001b[C\u007fu\t\u0003")),
                C(Data(0, "\u001b[200~echo pasted\u001b[201~\r")),
                C(Message(SshMessage.ChannelWindowAdjust).UInt32(0).UInt32(1000)),
                C(Simple(SshMessage.ChannelEof, 0)),
                T(Simple(SshMessage.ChannelEof, 0)),
                T(Simple(SshMessage.ChannelClose, 0)),
                C(Simple(SshMessage.ChannelClose, 0)),
            ]),
            // Forwards both ways, their replies in order, cancel, and no-more-sessions.
            Encode(allForwards,
            [
                C(Global("tcpip-forward", wantReply: true).String("127.0.0.1").UInt32(8080)),
                T(Message(SshMessage.RequestSuccess)),
                C(Global("tcpip-forward", wantReply: true).String("0.0.0.0").UInt32(0)),
                T(Message(SshMessage.RequestSuccess).UInt32(40000)),
                C(Open("direct-tcpip", 1, 32768, 16384).String("db.internal").UInt32(5432).String("127.0.0.1").UInt32(50000)),
                T(Confirm(0, 9)),
                C(Data(0, "SELECT 1")),
                T(Open("forwarded-tcpip", 7).String("127.0.0.1").UInt32(8080).String("10.0.0.9").UInt32(41000)),
                C(Confirm(1, 2)),
                T(Data(1, "hi")),
                T(Open("forwarded-tcpip", 8).String("127.0.0.1").UInt32(9999).String("10.0.0.9").UInt32(41001)),
                C(Global("cancel-tcpip-forward", wantReply: true).String("127.0.0.1").UInt32(8080)),
                T(Message(SshMessage.RequestSuccess)),
                C(Global("keepalive@openssh.com", wantReply: true)),
                C(Global("no-more-sessions@openssh.com", wantReply: false)),
                C(Open("session", 3)),
                C(Simple(SshMessage.ChannelClose, 0)),
                T(Simple(SshMessage.ChannelClose, 0)),
            ]),
            // Agent, X11, a subsystem, Unix sockets and a host key proof.
            Encode(allForwards,
            [
                C(Open("session", 0)),
                T(Confirm(0, 1)),
                C(Request(0, "auth-agent-req@openssh.com", wantReply: false)),
                C(Request(0, "x11-req", wantReply: true).Boolean(false).String("MIT-MAGIC-COOKIE-1").String("0123abcd").UInt32(0)),
                T(Simple(SshMessage.ChannelSuccess, 0)),
                C(Request(0, "subsystem", wantReply: true).String("sftp")),
                T(Simple(SshMessage.ChannelSuccess, 0)),
                T(Open("auth-agent@openssh.com", 3)),
                C(Message(SshMessage.ChannelOpenFailure).UInt32(1).UInt32(1).String("no agent").String("")),
                T(Open("x11", 4).String("127.0.0.1").UInt32(6010)),
                C(Open("direct-streamlocal@openssh.com", 5).String("/run/app.sock").String("").UInt32(0)),
                C(Global("streamlocal-forward@openssh.com", wantReply: true).String("/tmp/fwd.sock")),
                T(Message(SshMessage.RequestFailure)),
                C(Global("hostkeys-prove-00@openssh.com", wantReply: true).String(wireHostKey)),
                T(Global("keepalive@openssh.com", wantReply: true)),
                T(Request(0, "keepalive@openssh.com", wantReply: true)),
                C(Simple(SshMessage.ChannelSuccess, 0)),
            ]),
            // Transport messages after the keys, an unknown type, then data on a channel that is not open.
            Encode(0,
            [
                C(Message(SshMessage.Ignore).String("padding")),
                C(Message(SshMessage.Debug).Boolean(false).String("debug").String("")),
                C(Message(0xC0)),
                C(Open("session", 0)),
                T(Confirm(0, 1)),
                C(Data(7, "nowhere")),
            ]),
            // More data than the window Wire granted.
            Encode(SmallWindows,
            [
                C(Open("session", 0, 64, 32)),
                T(Confirm(0, 1, 64, 32)),
                C(Data(0, new string('x', 100))),
            ]),
            // Nothing but the settings: a login and a clean goodbye.
            [allForwards],
        ];
    }
}
