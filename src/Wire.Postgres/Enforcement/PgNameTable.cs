namespace Wire.Postgres.Enforcement;

/// <summary>
/// Prepared statements (or portals) of one session by name, as far as Wire can know them while responses are in
/// flight: the definition the server confirmed, plus every definition sent since and not yet confirmed or refused.
/// A lookup returns all of them and the caller judges each, so a definition the server ends up rejecting (or one
/// Wire has not seen confirmed yet) can only make the verdict stricter, never let something through.
/// </summary>
internal sealed class PgNameTable
{
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);

    public int Count => _slots.Count;

    /// <summary>A definition was sent to the server (Parse, Bind, PREPARE, DECLARE).</summary>
    public void AddPending(string name, PgPrepared definition)
    {
        var slot = GetOrAdd(name);
        if (name.Length == 0)
        {
            // Parse or Bind of the unnamed statement or portal drops the old one first, whether or not the new one succeeds.
            slot.Committed = null;
        }
        (slot.Pending ??= []).Add(definition);
    }

    /// <summary>The server confirmed <paramref name="definition"/>: it is now what <paramref name="name"/> runs.</summary>
    public void Commit(string name, PgPrepared definition)
    {
        var slot = GetOrAdd(name);
        slot.Pending?.Remove(definition);
        slot.Committed = definition;
    }

    /// <summary>The server refused or skipped <paramref name="definition"/>.</summary>
    public void Discard(string name, PgPrepared definition)
    {
        if (_slots.TryGetValue(name, out var slot))
        {
            slot.Pending?.Remove(definition);
            RemoveIfEmpty(name, slot);
        }
    }

    /// <summary>The server confirmed that <paramref name="name"/> is gone (Close, DEALLOCATE, CLOSE).</summary>
    public void Remove(string name)
    {
        if (_slots.TryGetValue(name, out var slot))
        {
            slot.Committed = null;
            RemoveIfEmpty(name, slot);
        }
    }

    /// <summary>Forgets every confirmed definition (DEALLOCATE ALL, DISCARD ALL); pending ones stay.</summary>
    public void RemoveAllCommitted(bool keepHoldable = false)
    {
        List<string>? empty = null;
        foreach (var (name, slot) in _slots)
        {
            if (slot.Committed is { Holdable: true } && keepHoldable)
            {
                continue;
            }
            slot.Committed = null;
            if (slot.Pending is not { Count: > 0 })
            {
                (empty ??= []).Add(name);
            }
        }
        foreach (var name in empty ?? [])
        {
            _slots.Remove(name);
        }
    }

    /// <summary>Adds every definition <paramref name="name"/> may run to <paramref name="into"/>; false when there is none.</summary>
    public bool TryGetCandidates(string name, List<PgPrepared> into)
    {
        if (!_slots.TryGetValue(name, out var slot))
        {
            return false;
        }
        int before = into.Count;
        if (slot.Committed is not null)
        {
            into.Add(slot.Committed);
        }
        if (slot.Pending is not null)
        {
            into.AddRange(slot.Pending);
        }
        return into.Count > before;
    }

    private Slot GetOrAdd(string name)
    {
        if (!_slots.TryGetValue(name, out var slot))
        {
            slot = new Slot();
            _slots[name] = slot;
        }
        return slot;
    }

    private void RemoveIfEmpty(string name, Slot slot)
    {
        if (slot.Committed is null && slot.Pending is not { Count: > 0 })
        {
            _slots.Remove(name);
        }
    }

    private sealed class Slot
    {
        public PgPrepared? Committed;
        public List<PgPrepared>? Pending;
    }
}
