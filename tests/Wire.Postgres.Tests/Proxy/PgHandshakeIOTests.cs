using Wire.Postgres.Proxy;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>The pooled handshake buffers.</summary>
public sealed class PgHandshakeIOTests
{
    [Fact]
    public void Returning_more_than_the_pool_keeps_drops_the_rest()
    {
        // Regression: a pool that disposed what it could not keep called Dispose, which returned to the pool, which
        // disposed... until the stack overflowed and took the gateway down.
        var rented = Enumerable.Range(0, 64).Select(_ => PgHandshakeIO.Rent(Stream.Null)).ToList();
        foreach (var io in rented)
        {
            io.Dispose();
        }

        using var again = PgHandshakeIO.Rent(new MemoryStream());
        Assert.NotNull(again.Output);
    }
}
