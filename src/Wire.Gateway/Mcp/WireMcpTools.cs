using System.ComponentModel;
using System.Net;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using Npgsql;
using Wire.Hosting;

namespace Wire.Gateway.Mcp;

/// <summary>
/// The tools <c>wire mcp</c> offers. SQL goes through the gateway's own PostgreSQL listener over loopback, as a psql user's
/// would: the rules judge it, results come back masked, a review holds the call until it is decided, and the session is
/// recorded under the agent's identity. Errors come back as tool errors with the SQLSTATE Wire or the server gave.
/// </summary>
[McpServerToolType]
internal sealed class WireMcpTools(GatewayService gateway, GatewaySettings settings, McpAgent agent)
{
    /// <summary>Rows returned per call at most; the rest is counted, not sent.</summary>
    private const int MaxRowsLimit = 1000;

    [McpServerTool(Name = "list_targets", ReadOnly = true), Description(
        "Lists the targets this gateway reaches: PostgreSQL databases (queryable with the query tool), HTTP and SSH targets. " +
        "Returns JSON: [{\"name\", \"protocol\", ...}].")]
    public string ListTargets()
    {
        var targets = new List<object>();
        foreach (var target in settings.Postgres?.Targets ?? [])
        {
            targets.Add(new { name = target.Name, protocol = "postgresql", database = target.Database, requiresGrant = target.RequireGrant });
        }
        foreach (var target in settings.Http?.Targets ?? [])
        {
            targets.Add(new { name = target.Name, protocol = "http", kind = target.Kind.ToString().ToLowerInvariant(), requiresGrant = target.RequireGrant });
        }
        foreach (var target in settings.Ssh?.Proxy.Targets ?? [])
        {
            targets.Add(new { name = target.Name, protocol = "ssh", requiresGrant = target.RequireGrant });
        }
        return JsonSerializer.Serialize(new { identity = agent.Identity.Subject, targets });
    }

    [McpServerTool(Name = "query"), Description(
        "Runs SQL on a PostgreSQL target through the Wire gateway, as the agent's identity. Sensitive values come back masked; " +
        "a statement a rule denies fails with SQLSTATE 42501; a statement a rule sends for review waits until a human " +
        "approves it (or fails with 42501 when denied, 57014 when the review times out). Returns JSON: " +
        "{\"columns\": [...], \"rows\": [[...]], \"rowCount\": n, \"truncated\": bool} for a query, {\"recordsAffected\": n} otherwise.")]
    public async Task<string> QueryAsync(
        [Description("The target's name, from list_targets.")] string target,
        [Description("One SQL statement (or several separated by semicolons).")] string sql,
        [Description("Rows to return at most (1 to 1000, default 100).")] int maxRows = 100,
        CancellationToken cancellationToken = default)
    {
        var postgres = gateway.Postgres ?? throw new McpException("this gateway has no PostgreSQL listener");
        if (!settings.Postgres!.Targets.Any(t => t.Name == target))
        {
            throw new McpException($"unknown target \"{target}\"; list_targets names them");
        }
        maxRows = Math.Clamp(maxRows, 1, MaxRowsLimit);

        var listen = postgres.LocalEndPoint;
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = (listen.Address.Equals(IPAddress.Any) || listen.Address.Equals(IPAddress.IPv6Any) ? IPAddress.Loopback : listen.Address).ToString(),
            Port = listen.Port,
            Username = agent.Identity.Subject,
            Password = agent.Token,
            Database = target,
            SslMode = settings.Postgres.TlsRequired ? SslMode.Require : SslMode.Disable,
            ApplicationName = "wire-mcp",
            // A review can hold a statement for as long as its rule's timeout; Wire ends the wait, not the client.
            CommandTimeout = 0,
            Pooling = true,
        };
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await ReadAsync(reader, maxRows, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex)
        {
            throw new McpException($"{ex.SqlState}: {ex.MessageText}");
        }
        catch (NpgsqlException ex)
        {
            throw new McpException($"the gateway could not run it: {ex.Message}");
        }
    }

    private static async Task<string> ReadAsync(NpgsqlDataReader reader, int maxRows, CancellationToken ct)
    {
        // The last result set is the answer (several statements: the earlier ones ran, their rows are not returned).
        string? result = null;
        do
        {
            if (reader.FieldCount == 0)
            {
                result = JsonSerializer.Serialize(new { recordsAffected = reader.RecordsAffected });
                continue;
            }
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
            var rows = new List<string?[]>();
            int count = 0;
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                if (count++ < maxRows)
                {
                    var row = new string?[reader.FieldCount];
                    for (int i = 0; i < row.Length; i++)
                    {
                        // Text as the server (and Wire's masks) gave it: what a psql user would see.
                        row[i] = reader.IsDBNull(i) ? null : reader.GetProviderSpecificValue(i)?.ToString();
                    }
                    rows.Add(row);
                }
            }
            result = JsonSerializer.Serialize(new { columns, rows, rowCount = count, truncated = count > maxRows });
        }
        while (await reader.NextResultAsync(ct).ConfigureAwait(false));
        return result ?? JsonSerializer.Serialize(new { recordsAffected = 0 });
    }
}
