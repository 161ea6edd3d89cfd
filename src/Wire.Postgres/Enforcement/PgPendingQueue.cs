namespace Wire.Postgres.Enforcement;

/// <summary>A growable ring of <see cref="PgPending"/> structs with by-reference access to the head (no allocation per message).</summary>
internal sealed class PgPendingQueue
{
    private PgPending[] _items = new PgPending[16];
    private int _head;

    public int Count { get; private set; }

    public ref PgPending Head
    {
        get
        {
            if (Count == 0)
            {
                throw new InvalidOperationException("no response is expected");
            }
            return ref _items[_head];
        }
    }

    public void Enqueue(in PgPending item)
    {
        if (Count == _items.Length)
        {
            var larger = new PgPending[_items.Length * 2];
            for (int i = 0; i < Count; i++)
            {
                larger[i] = _items[(_head + i) % _items.Length];
            }
            _items = larger;
            _head = 0;
        }
        _items[(_head + Count) % _items.Length] = item;
        Count++;
    }

    public PgPending Dequeue()
    {
        var item = Head;
        _items[_head] = default;
        _head = (_head + 1) % _items.Length;
        Count--;
        return item;
    }
}
