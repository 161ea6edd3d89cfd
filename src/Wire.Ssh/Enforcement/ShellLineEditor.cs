using System.Text;

namespace Wire.Ssh.Enforcement;

/// <summary>
/// Rebuilds the lines a person types at an interactive shell from the keystrokes, as a line editor (readline, or a
/// terminal's cooked mode) would apply them: printable text and pastes insert at the cursor; backspace, delete,
/// Ctrl-U/K/W, Ctrl-A/E/B/F, Home/End and the arrow keys edit and move; Ctrl-C abandons the line; Enter ends it.
/// Keys whose effect only the shell knows (Tab completion, history with Up/Down or Ctrl-R, other escape sequences) make
/// the line <see cref="Uncertain"/>: what the shell echoes (<see cref="TerminalLine"/>) then tells what was typed.
/// Without a terminal (<c>raw</c>) nothing edits the input: a line is every byte up to a line feed, as the shell reads it.
/// </summary>
internal sealed class ShellLineEditor(bool raw)
{
    private const int MaxLine = 64 * 1024;
    private readonly List<byte> _line = [];
    private int _cursor;
    private bool _uncertain;
    private bool _paste;
    private readonly List<byte> _escape = [];

    // What was typed at the end of the line since it became uncertain, while that is all that happened: the shell may
    // not have echoed it yet when Enter comes, so it is added to what the echo shows.
    private readonly List<byte> _suffix = [];
    private bool _suffixKnown;

    /// <summary>Whether something edited the line in a way only the shell knows (completion, history).</summary>
    public bool Uncertain => _uncertain;

    /// <summary>Whether a line is being typed (anything since the last Enter).</summary>
    public bool Started { get; private set; }

    /// <summary>
    /// Applies the keystrokes in <paramref name="input"/> up to the first Enter; its index, or -1 when there is none
    /// (everything was applied). Enter inside a bracketed paste is part of the line, not its end.
    /// </summary>
    public int Feed(ReadOnlySpan<byte> input)
    {
        for (int i = 0; i < input.Length; i++)
        {
            byte b = input[i];
            Started = true;
            if (raw)
            {
                if (b == (byte)'\n')
                {
                    return i;
                }
                Insert(b);
                continue;
            }
            if (_escape.Count > 0 || b == 0x1b)
            {
                _escape.Add(b);
                if (EscapeComplete())
                {
                    bool wasUncertain = _uncertain;
                    bool pasteMarker = ApplyEscape();
                    _escape.Clear();
                    if (wasUncertain && !pasteMarker)
                    {
                        // A cursor move or edit after the line became uncertain: where it acts, only the shell knows.
                        _suffixKnown = false;
                    }
                }
                continue;
            }
            if (b is (byte)'\r' or (byte)'\n')
            {
                if (_paste)
                {
                    Insert((byte)'\n');
                    if (_uncertain)
                    {
                        _suffix.Add((byte)'\n');
                    }
                    continue;
                }
                return i;
            }
            if (_uncertain && b is not (0x09 or 0x12 or 0x0e or 0x10 or 0x19 or 0x14 or 0x18 or 0x0f))
            {
                FollowSuffix(b);
            }
            switch (b)
            {
                case 0x7f or 0x08:
                    DeleteBefore();
                    break;
                case 0x15:
                    _line.RemoveRange(0, _cursor);
                    _cursor = 0;
                    break;
                case 0x0b:
                    _line.RemoveRange(_cursor, _line.Count - _cursor);
                    break;
                case 0x17:
                    DeleteWordBefore();
                    break;
                case 0x01:
                    _cursor = 0;
                    break;
                case 0x05:
                    _cursor = _line.Count;
                    break;
                case 0x02:
                    MoveLeft();
                    break;
                case 0x06:
                    MoveRight();
                    break;
                case 0x04:
                    DeleteAt();
                    break;
                case 0x03:
                    Clear();
                    break;
                case 0x09 or 0x12 or 0x0e or 0x10 or 0x19 or 0x14 or 0x18 or 0x0f:
                    // Tab, Ctrl-R/N/P (history), Ctrl-Y (yank), Ctrl-T (transpose), Ctrl-X and Ctrl-O prefixes.
                    BecomeUncertain();
                    break;
                case < 0x20:
                    break;
                default:
                    Insert(b);
                    break;
            }
        }
        return -1;
    }

    /// <summary>
    /// The line as typed (invalid UTF-8 becomes U+FFFD), whether it is uncertain, and for an uncertain line what was
    /// typed at its end since (null when more than typing at the end happened); then a fresh start for the next.
    /// </summary>
    public (string Text, bool Uncertain, string? TypedSince) TakeLine()
    {
        var line = (Encoding.UTF8.GetString([.. _line]), _uncertain, _uncertain && _suffixKnown ? Encoding.UTF8.GetString([.. _suffix]) : null);
        Clear();
        return line;
    }

    /// <summary>
    /// The readings of a line that completion or history changed: what the shell echoed after the prompt
    /// (<paramref name="shown"/>), with what was typed since (<paramref name="typedSince"/>) added as far as the echo
    /// does not show it yet (Enter may overtake the echo). Each split of the typed text between "echoed" and "not yet"
    /// that fits is a reading; the last is the one with the longest echo.
    /// </summary>
    public static List<string> Readings(string shown, string? typedSince)
    {
        if (typedSince is null)
        {
            return [shown];
        }
        var readings = new List<string>();
        for (int k = 0; k <= typedSince.Length; k++)
        {
            if (shown.EndsWith(typedSince[..k], StringComparison.Ordinal))
            {
                readings.Add(shown + typedSince[k..]);
            }
        }
        return readings;
    }

    private void BecomeUncertain()
    {
        _uncertain = true;
        _suffix.Clear();
        _suffixKnown = true;
    }

    /// <summary>After the line became uncertain: plain typing (and backspacing over it) keeps the suffix known.</summary>
    private void FollowSuffix(byte b)
    {
        if (b is 0x7f or 0x08 && _suffix.Count > 0)
        {
            int start = _suffix.Count - 1;
            while (start > 0 && IsContinuation(_suffix[start]))
            {
                start--;
            }
            _suffix.RemoveRange(start, _suffix.Count - start);
        }
        else if (b >= 0x20 && b != 0x7f && _suffix.Count < MaxLine)
        {
            _suffix.Add(b);
        }
        else
        {
            _suffixKnown = false;
        }
    }

    private void Clear()
    {
        _line.Clear();
        _suffix.Clear();
        _suffixKnown = false;
        _cursor = 0;
        _uncertain = false;
        _paste = false;
        Started = false;
    }

    private void Insert(byte b)
    {
        if (_line.Count >= MaxLine)
        {
            _uncertain = true;
            return;
        }
        _line.Insert(_cursor++, b);
    }

    private static bool IsContinuation(byte b) => (b & 0xC0) == 0x80;

    private void DeleteBefore()
    {
        if (_cursor == 0)
        {
            return;
        }
        int start = _cursor - 1;
        while (start > 0 && IsContinuation(_line[start]))
        {
            start--;
        }
        _line.RemoveRange(start, _cursor - start);
        _cursor = start;
    }

    private void DeleteAt()
    {
        if (_cursor >= _line.Count)
        {
            return;
        }
        int end = _cursor + 1;
        while (end < _line.Count && IsContinuation(_line[end]))
        {
            end++;
        }
        _line.RemoveRange(_cursor, end - _cursor);
    }

    private void DeleteWordBefore()
    {
        int start = _cursor;
        while (start > 0 && _line[start - 1] == (byte)' ')
        {
            start--;
        }
        while (start > 0 && _line[start - 1] != (byte)' ')
        {
            start--;
        }
        _line.RemoveRange(start, _cursor - start);
        _cursor = start;
    }

    private void MoveLeft()
    {
        while (_cursor > 0)
        {
            _cursor--;
            if (!IsContinuation(_line[_cursor]))
            {
                break;
            }
        }
    }

    private void MoveRight()
    {
        while (_cursor < _line.Count)
        {
            _cursor++;
            if (_cursor == _line.Count || !IsContinuation(_line[_cursor]))
            {
                break;
            }
        }
    }

    /// <summary>ESC x, ESC [ ... final, ESC O x: complete when the final byte arrived (bounded, so garbage cannot grow it).</summary>
    private bool EscapeComplete()
    {
        if (_escape.Count < 2)
        {
            return false;
        }
        byte second = _escape[1];
        if (second is (byte)'[')
        {
            byte last = _escape[^1];
            return _escape.Count > 2 && last is >= 0x40 and <= 0x7e || _escape.Count >= 16;
        }
        return second != (byte)'O' || _escape.Count >= 3;
    }

    /// <summary>Applies a complete escape sequence; true for a bracketed paste's start or end marker.</summary>
    private bool ApplyEscape()
    {
        string sequence = Encoding.ASCII.GetString([.. _escape]);
        switch (sequence)
        {
            case "\x1b[C" or "\x1bOC":
                MoveRight();
                break;
            case "\x1b[D" or "\x1bOD":
                MoveLeft();
                break;
            case "\x1b[H" or "\x1bOH" or "\x1b[1~" or "\x1b[7~":
                _cursor = 0;
                break;
            case "\x1b[F" or "\x1bOF" or "\x1b[4~" or "\x1b[8~":
                _cursor = _line.Count;
                break;
            case "\x1b[3~":
                DeleteAt();
                break;
            case "\x1b[200~":
                _paste = true;
                return true;
            case "\x1b[201~":
                _paste = false;
                return true;
            default:
                // History (Up/Down), word moves and edits (Alt-b/f/d), anything else: only the shell knows.
                BecomeUncertain();
                break;
        }
        return false;
    }
}

/// <summary>
/// The terminal line the shell last drew (from its output): enough of a terminal to follow a line editor's echo —
/// text written at the cursor, carriage return, backspace, cursor moves (CSI C/D/G), erase to end of line (CSI K),
/// delete and insert characters (CSI P/@), a new line starting over. <see cref="MarkInputStart"/> notes where the
/// prompt ends, so <see cref="Typed"/> is what follows it.
/// </summary>
internal sealed class TerminalLine
{
    private const int MaxColumns = 4096;
    private readonly List<char> _cells = [];
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private readonly char[] _chars = new char[4096];
    private readonly StringBuilder _escape = new();
    private int _column;
    private int _inputStart = -1;

    // The last prompt seen: when typing runs ahead of the shell (the next prompt is drawn after the first keys), the
    // line is found after the prompt where it is drawn.
    private string? _prompt;

    /// <summary>The shell's output, as the client's terminal receives it.</summary>
    public void Output(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var piece = data[..Math.Min(data.Length, _chars.Length / 2)];
            data = data[piece.Length..];
            int count = _decoder.GetChars(piece, _chars, flush: false);
            foreach (char c in _chars.AsSpan(0, count))
            {
                Apply(c);
            }
        }
    }

    /// <summary>The person started typing a line: what the terminal shows so far on it is the prompt.</summary>
    public void MarkInputStart()
    {
        _inputStart = _column;
        if (_column > 0 && _column <= _cells.Count)
        {
            _prompt = new string([.. _cells.Take(_column)]);
        }
    }

    /// <summary>What follows the prompt on the line, up to the cursor or the last character shown; null when no prompt was noted.</summary>
    public string? Typed()
    {
        if (_inputStart < 0 && _prompt is not null && _cells.Count >= _prompt.Length && new string([.. _cells.Take(_prompt.Length)]) == _prompt)
        {
            _inputStart = _prompt.Length;
        }
        if (_inputStart < 0 || _inputStart > _cells.Count)
        {
            return null;
        }
        int end = _cells.Count;
        while (end > _column && end > _inputStart && _cells[end - 1] == ' ')
        {
            end--;
        }
        return new string([.. _cells.Skip(_inputStart).Take(end - _inputStart)]);
    }

    private void Apply(char c)
    {
        if (_escape.Length > 0 || c == '\x1b')
        {
            _escape.Append(c);
            if (_escape.Length >= 2 && (_escape[1] != '[' && _escape[1] != ']' || _escape.Length > 2 && IsFinal(_escape)) || _escape.Length > 64)
            {
                ApplyEscape(_escape.ToString());
                _escape.Clear();
            }
            return;
        }
        switch (c)
        {
            case '\r':
                _column = 0;
                return;
            case '\n':
                _cells.Clear();
                _column = 0;
                _inputStart = -1;
                return;
            case '\b':
                _column = Math.Max(0, _column - 1);
                return;
            case '\a' or '\0':
                return;
            case < ' ':
                return;
        }
        if (_column >= MaxColumns)
        {
            return;
        }
        while (_cells.Count <= _column)
        {
            _cells.Add(' ');
        }
        _cells[_column++] = c;
    }

    private static bool IsFinal(StringBuilder escape)
    {
        char last = escape[^1];
        // OSC (ESC ]) ends with BEL or ST; CSI with a byte from @ to ~.
        return escape[1] == ']' ? last == '\a' || last == '\\' : last is >= '@' and <= '~';
    }

    private void ApplyEscape(string sequence)
    {
        if (sequence.Length < 3 || sequence[1] != '[')
        {
            return;
        }
        char final = sequence[^1];
        string parameter = sequence[2..^1];
        int n = int.TryParse(parameter, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : 0;
        switch (final)
        {
            case 'C':
                _column = Math.Min(MaxColumns, _column + Math.Max(1, n));
                break;
            case 'D':
                _column = Math.Max(0, _column - Math.Max(1, n));
                break;
            case 'G':
                _column = Math.Clamp(n - 1, 0, MaxColumns);
                break;
            case 'K' when n == 0:
                if (_column < _cells.Count)
                {
                    _cells.RemoveRange(_column, _cells.Count - _column);
                }
                break;
            case 'K' when n == 2:
                _cells.Clear();
                break;
            case 'P':
                if (_column < _cells.Count)
                {
                    _cells.RemoveRange(_column, Math.Min(Math.Max(1, n), _cells.Count - _column));
                }
                break;
            case '@':
                if (_column <= _cells.Count)
                {
                    _cells.InsertRange(_column, Enumerable.Repeat(' ', Math.Min(Math.Max(1, n), MaxColumns)));
                }
                break;
        }
    }
}
