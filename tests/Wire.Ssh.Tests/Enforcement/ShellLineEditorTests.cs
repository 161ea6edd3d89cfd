using System.Text;
using Wire.Ssh.Enforcement;

namespace Wire.Ssh.Tests.Enforcement;

/// <summary>Lines rebuilt from keystrokes (and, where only the shell knows, from its echo) as command rules see them.</summary>
public sealed class ShellLineEditorTests
{
    private static (string Text, bool Uncertain, string? TypedSince) Type(string keys, bool raw = false)
    {
        var editor = new ShellLineEditor(raw);
        byte[] input = Encoding.UTF8.GetBytes(keys);
        int enter = editor.Feed(input);
        Assert.True(enter == input.Length - 1, $"Enter at {enter}");
        return editor.TakeLine();
    }

    [Theory]
    [InlineData("ls -l\r", "ls -l")]
    [InlineData("lss\u007f -l\r", "ls -l")]
    [InlineData("rm -rf /tmp\u0015ls\r", "ls")]
    [InlineData("echo foo bar\u0017baz\r", "echo foo baz")]
    [InlineData("toch x\u001b[H\u001b[C\u001b[Cu\r", "touch x")]
    [InlineData("toch x\u0001\u0006\u0006u\r", "touch x")]
    [InlineData("touch xy\u001b[D\u001b[3~\r", "touch x")]
    [InlineData("echo a\u0003rm -rf /\r", "rm -rf /")]
    [InlineData("naïve\u007f\u007f\u007fxx\r", "naxx")]
    [InlineData("\u001b[200~echo a\rrm -rf /\u001b[201~\r", "echo a\nrm -rf /")]
    [InlineData("echo x\u000b\r", "echo x")]
    public void Editing_keys_apply_as_a_line_editor_applies_them(string keys, string line)
    {
        var (text, uncertain, _) = Type(keys);
        Assert.Equal(line, text);
        Assert.False(uncertain);
    }

    [Fact]
    public void Completion_and_history_make_a_line_uncertain_and_keep_what_was_typed_since()
    {
        Assert.Equal((true, " /tmp/x"), Pick(Type("touc\t /tmp/x\r")));
        Assert.Equal((true, "-l"), Pick(Type("\u001b[A-l\r")));
        Assert.Equal((true, "ab"), Pick(Type("x\tabc\u007f\r")));
        // A cursor move after the uncertainty: where it acted, only the shell knows.
        Assert.Equal((true, null), Pick(Type("x\tab\u001b[Dc\r")));
        static (bool, string?) Pick((string Text, bool Uncertain, string? TypedSince) line) => (line.Uncertain, line.TypedSince);
    }

    [Fact]
    public void Without_a_terminal_a_line_is_every_byte_up_to_a_line_feed()
    {
        Assert.Equal("a\u007fb\r", Type("a\u007fb\r\n", raw: true).Text);
        var editor = new ShellLineEditor(raw: true);
        byte[] input = "ls\nrm -rf /\n"u8.ToArray();
        Assert.Equal(2, editor.Feed(input));
        Assert.Equal("ls", editor.TakeLine().Text);
        Assert.Equal(8, editor.Feed(input.AsSpan(3)));
        Assert.Equal("rm -rf /", editor.TakeLine().Text);
    }

    [Fact]
    public void The_echo_after_the_prompt_is_what_the_shell_made_of_the_line()
    {
        var screen = new TerminalLine();
        screen.Output("Last login: today\r\nwire$ "u8);
        screen.MarkInputStart();
        screen.Output("touc"u8);
        screen.Output("h "u8);
        Assert.Equal("touch ", screen.Typed());
        // readline's redraws: backspaces and erase to the end of the line, history replacing the line.
        screen.Output("\b\b\b\b\b\b\u001b[Kls -la"u8);
        Assert.Equal("ls -la", screen.Typed());
        screen.Output("\r\n"u8);
        Assert.Null(screen.Typed());

        // Typing ran ahead of the shell: the next prompt came after the first keys; the line is still found after it.
        screen.MarkInputStart();
        screen.Output("^C\r\nwire$ touch /tmp/x"u8);
        Assert.Equal("touch /tmp/x", screen.Typed());
    }

    [Fact]
    public void Readings_cover_an_echo_that_lags_behind_the_typing()
    {
        // The path was typed after the completion but Enter overtook its echo: "touch /tmp/x" is among the readings.
        Assert.Contains("touch /tmp/x", ShellLineEditor.Readings("touch ", "/tmp/x"));
        Assert.Contains("touch /tmp/x", ShellLineEditor.Readings("touch /tm", "/tmp/x"));
        Assert.Contains("touch /tmp/x", ShellLineEditor.Readings("touch /tmp/x", "/tmp/x"));
        Assert.Equal(["ls"], ShellLineEditor.Readings("ls", null));
    }
}

/// <summary>Whatever a client types or a shell prints, the line trackers neither throw nor grow without bound.</summary>
public sealed class ShellLineRandomInputTests
{
    [Fact]
    public void Random_keystrokes_and_output_are_taken_in_stride()
    {
        var random = new Random(8);
        for (int round = 0; round < 300; round++)
        {
            var editor = new ShellLineEditor(raw: round % 3 == 0);
            var screen = new TerminalLine();
            byte[] data = new byte[random.Next(1, 4096)];
            random.NextBytes(data);
            // Bias toward the bytes that matter: escapes, control keys, line ends.
            for (int i = 0; i < data.Length; i += random.Next(1, 8))
            {
                data[i] = (byte)"\u001b[\r\n\u007f\t\u0003\u0015~ABCD"[random.Next(13)];
            }
            var rest = data.AsSpan();
            for (int lines = 0; !rest.IsEmpty && lines < 10_000; lines++)
            {
                screen.MarkInputStart();
                int enter = editor.Feed(rest);
                if (enter < 0)
                {
                    break;
                }
                var line = editor.TakeLine();
                Assert.True(line.Text.Length <= 64 * 1024);
                _ = ShellLineEditor.Readings(screen.Typed() ?? "", line.TypedSince);
                rest = rest[(enter + 1)..];
            }
            screen.Output(data);
            Assert.True((screen.Typed() ?? "").Length <= 4096);
        }
    }
}
