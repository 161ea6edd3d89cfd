using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Npgsql;
using Wire.Enforcement;
using Wire.Enforcement.Diagnostics;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>Wire measures the latency it adds per relayed batch and exports it as a histogram on the <c>Wire</c> Meter.</summary>
[Collection(PostgresCollection.Name)]
public sealed class AddedLatencyMetricTests(PostgresFixture fixture)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Each_relayed_batch_is_measured_in_both_directions(bool inspect)
    {
        _ = WireDiagnostics.AddedLatency; // the Meter's instruments exist before the listener starts
        var measurements = new ConcurrentBag<(double Ms, string Direction)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == WireDiagnostics.Name && instrument.Name == "wire.proxy.added_latency")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "wire.direction")
                {
                    measurements.Add((value, (string)tag.Value!));
                }
            }
        });
        listener.Start();

        await using var wire = WireProxyHarness.Start(fixture, enforcement: inspect ? new WireEnforcement() : null);
        await using (var connection = await wire.OpenClientAsync())
        {
            for (int i = 0; i < 5; i++)
            {
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                Assert.Equal(1, await command.ExecuteScalarAsync());
            }
        }

        Assert.Contains(measurements, m => m.Direction == "to_upstream");
        Assert.Contains(measurements, m => m.Direction == "to_client");
        Assert.All(measurements, m => Assert.InRange(m.Ms, 0, 10_000));
    }
}
