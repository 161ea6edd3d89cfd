using System.Collections.ObjectModel;

namespace Wire.Postgres.Sql;

/// <summary>Distinct names in first-seen order; a hash set takes over once the list is long, so hostile input stays linear.</summary>
internal sealed class PgNameList
{
    private const int LinearLimit = 8;

    private readonly List<string> _names = [];
    private HashSet<string>? _index;

    /// <summary>Adds <paramref name="name"/> unless it is already listed.</summary>
    public void Add(string name)
    {
        if (_index is not null)
        {
            if (_index.Add(name))
            {
                _names.Add(name);
            }

            return;
        }

        foreach (string existing in _names)
        {
            if (string.Equals(existing, name, StringComparison.Ordinal))
            {
                return;
            }
        }

        _names.Add(name);
        if (_names.Count > LinearLimit)
        {
            _index = new HashSet<string>(_names, StringComparer.Ordinal);
        }
    }

    /// <summary>A read-only view of the names (a shared empty list when there is none); the list must not be added to after.</summary>
    public static IReadOnlyList<string> Freeze(PgNameList? list)
        => list is null || list._names.Count == 0 ? [] : new ReadOnlyCollection<string>(list._names);
}
