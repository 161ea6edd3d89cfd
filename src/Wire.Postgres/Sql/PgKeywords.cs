namespace Wire.Postgres.Sql;

/// <summary>
/// Case-insensitive (ASCII only, as the server folds unquoted names) lookup of <see cref="PgKeyword"/>s on UTF-8
/// bytes, and the word classes the classifier needs. Built once from the enum; lookups allocate nothing.
/// </summary>
internal static class PgKeywords
{
    private static readonly byte[][] s_spellings = BuildSpellings();

    /// <summary>Keyword ids by first letter, so a lookup compares against a handful of spellings.</summary>
    private static readonly PgKeyword[][] s_byFirstLetter = BuildBuckets();

    private static readonly int s_maxLength = s_spellings.Max(s => s.Length);

    /// <summary>
    /// Reserved and column-name keywords that, followed by <c>(</c>, are always syntax (<c>IN (</c>, <c>EXISTS (</c>,
    /// <c>ARRAY (</c>, <c>VALUES (</c>, ...): PostgreSQL does not let them name a function unquoted. CAST, COALESCE,
    /// GREATEST, LEAST and NULLIF are here too: they are expression nodes, not catalog functions, and CAST runs exactly
    /// what <c>::</c> runs. Unreserved keywords can name functions (<c>filter(x)</c>, <c>first(x)</c>), so the walker
    /// treats them as syntax only where the grammar puts them (<c>) FILTER (</c>, <c>PRIMARY KEY (</c>, ...).
    /// </summary>
    private static readonly bool[] s_notAFunction = Set(
        PgKeyword.All, PgKeyword.Analyse, PgKeyword.Analyze, PgKeyword.And, PgKeyword.Any, PgKeyword.Array, PgKeyword.As,
        PgKeyword.Asc, PgKeyword.Between, PgKeyword.Case, PgKeyword.Cast, PgKeyword.Check, PgKeyword.Coalesce, PgKeyword.Default,
        PgKeyword.Desc, PgKeyword.Distinct, PgKeyword.Do, PgKeyword.Else, PgKeyword.End, PgKeyword.Escape, PgKeyword.Except,
        PgKeyword.Exclude, PgKeyword.Exists, PgKeyword.For, PgKeyword.From, PgKeyword.Greatest, PgKeyword.Group, PgKeyword.Grouping,
        PgKeyword.Having, PgKeyword.Ilike, PgKeyword.In, PgKeyword.Intersect, PgKeyword.Into, PgKeyword.Is, PgKeyword.Join,
        PgKeyword.Lateral, PgKeyword.Least, PgKeyword.Like, PgKeyword.Limit, PgKeyword.Not, PgKeyword.Nullif,
        PgKeyword.Offset, PgKeyword.On, PgKeyword.Only, PgKeyword.Operator, PgKeyword.Or, PgKeyword.Order,
        PgKeyword.References, PgKeyword.Returning, PgKeyword.Row, PgKeyword.Select, PgKeyword.Similar, PgKeyword.Some,
        PgKeyword.Symmetric, PgKeyword.Table, PgKeyword.Tablesample, PgKeyword.Then, PgKeyword.To, PgKeyword.Union,
        PgKeyword.Unique, PgKeyword.Using, PgKeyword.Values, PgKeyword.When, PgKeyword.Where, PgKeyword.Window,
        PgKeyword.With);

    /// <summary>Type names that take a modifier in parentheses (<c>varchar(10)</c>, <c>numeric(10,2)</c>, <c>char(84)</c>).</summary>
    private static readonly bool[] s_typeWithModifier = Set(
        PgKeyword.Bit, PgKeyword.Bpchar, PgKeyword.Char, PgKeyword.Character, PgKeyword.Dec, PgKeyword.Decimal, PgKeyword.Float,
        PgKeyword.Interval, PgKeyword.Nchar, PgKeyword.Numeric, PgKeyword.Time, PgKeyword.Timestamp, PgKeyword.Timestamptz,
        PgKeyword.Timetz, PgKeyword.Varbit, PgKeyword.Varchar, PgKeyword.Varying);

    /// <summary>Words that end a FROM item where an alias could stand (<c>FROM t JOIN</c>, <c>FROM t WHERE</c>).</summary>
    private static readonly bool[] s_notAnAlias = Set(
        PgKeyword.As, PgKeyword.Cross, PgKeyword.Default, PgKeyword.Delete, PgKeyword.Do, PgKeyword.Else, PgKeyword.End,
        PgKeyword.Except, PgKeyword.Fetch, PgKeyword.For, PgKeyword.From, PgKeyword.Full, PgKeyword.Group, PgKeyword.Having,
        PgKeyword.Inner, PgKeyword.Insert, PgKeyword.Intersect, PgKeyword.Into, PgKeyword.Join, PgKeyword.Lateral, PgKeyword.Left,
        PgKeyword.Limit, PgKeyword.Merge, PgKeyword.Natural, PgKeyword.On, PgKeyword.Only, PgKeyword.Order, PgKeyword.Outer,
        PgKeyword.Overriding, PgKeyword.Returning, PgKeyword.Right, PgKeyword.Select, PgKeyword.Set, PgKeyword.Table,
        PgKeyword.Tablesample, PgKeyword.Then, PgKeyword.Union, PgKeyword.Update, PgKeyword.Using, PgKeyword.Values,
        PgKeyword.When, PgKeyword.Where, PgKeyword.Window, PgKeyword.With, PgKeyword.Offset);

    /// <summary>Words a predicate made only of constants may hold (<c>WHERE NOT false</c>, <c>WHERE 1 IN (1, 2)</c>).</summary>
    private static readonly bool[] s_constantPredicateWord = Set(
        PgKeyword.And, PgKeyword.Between, PgKeyword.Distinct, PgKeyword.Escape, PgKeyword.False, PgKeyword.From, PgKeyword.Ilike,
        PgKeyword.In, PgKeyword.Is, PgKeyword.Isnull, PgKeyword.Like, PgKeyword.Not, PgKeyword.Notnull, PgKeyword.Null,
        PgKeyword.Or, PgKeyword.Similar, PgKeyword.Symmetric, PgKeyword.To, PgKeyword.True, PgKeyword.Unknown);

    /// <summary>The keyword spelled by <paramref name="word"/> (any ASCII case), or <see cref="PgKeyword.None"/>.</summary>
    public static PgKeyword Lookup(ReadOnlySpan<byte> word)
    {
        if (word.Length < 2 || word.Length > s_maxLength)
        {
            return PgKeyword.None;
        }

        Span<byte> lower = stackalloc byte[32];
        for (int i = 0; i < word.Length; i++)
        {
            int b = word[i];
            if ((uint)(b - 'A') <= 'Z' - 'A')
            {
                b |= 0x20;
            }
            else if (b >= 0x80)
            {
                return PgKeyword.None;
            }

            lower[i] = (byte)b;
        }

        int letter = lower[0] - 'a';
        if ((uint)letter >= 26)
        {
            return PgKeyword.None;
        }

        ReadOnlySpan<byte> candidate = lower[..word.Length];
        foreach (PgKeyword keyword in s_byFirstLetter[letter])
        {
            if (candidate.SequenceEqual(s_spellings[(int)keyword]))
            {
                return keyword;
            }
        }

        return PgKeyword.None;
    }

    /// <summary>The keyword's lower-case spelling.</summary>
    public static ReadOnlySpan<byte> Spelling(PgKeyword keyword) => s_spellings[(int)keyword];

    /// <summary>Whether <c>keyword (</c> is syntax rather than a call.</summary>
    public static bool IsNotAFunction(PgKeyword keyword) => s_notAFunction[(int)keyword];

    /// <summary>Whether <c>keyword (</c> is a type with a modifier.</summary>
    public static bool IsTypeWithModifier(PgKeyword keyword) => s_typeWithModifier[(int)keyword];

    /// <summary>Whether the word cannot be a table alias (it continues or ends the clause instead).</summary>
    public static bool IsNotAnAlias(PgKeyword keyword) => s_notAnAlias[(int)keyword];

    /// <summary>Whether the word may appear in a predicate made only of constants.</summary>
    public static bool IsConstantPredicateWord(PgKeyword keyword) => s_constantPredicateWord[(int)keyword];

    private static byte[][] BuildSpellings()
    {
        var spellings = new byte[256][];
        Array.Fill(spellings, []);
        foreach (PgKeyword keyword in Enum.GetValues<PgKeyword>())
        {
            if (keyword != PgKeyword.None)
            {
                spellings[(int)keyword] = System.Text.Encoding.ASCII.GetBytes(keyword.ToString().ToLowerInvariant());
            }
        }

        return spellings;
    }

    private static PgKeyword[][] BuildBuckets()
    {
        var buckets = new List<PgKeyword>[26];
        for (int i = 0; i < buckets.Length; i++)
        {
            buckets[i] = [];
        }

        foreach (PgKeyword keyword in Enum.GetValues<PgKeyword>())
        {
            if (keyword != PgKeyword.None)
            {
                buckets[s_spellings[(int)keyword][0] - 'a'].Add(keyword);
            }
        }

        return [.. buckets.Select(b => b.ToArray())];
    }

    private static bool[] Set(params PgKeyword[] keywords)
    {
        var set = new bool[256];
        foreach (PgKeyword keyword in keywords)
        {
            set[(int)keyword] = true;
        }

        return set;
    }
}
