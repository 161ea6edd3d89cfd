using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Identity;

namespace Wire.Gateway.Admin;

/// <summary>
/// Just-in-time grants over the admin API (docs/admin-api.md): anyone with a valid token asks for a target for a while;
/// members of <c>grants.approvers</c> approve, deny and revoke; the requester may withdraw. Everyone sees their own
/// grants, approvers see all.
/// </summary>
internal sealed partial class AdminServer
{
    private const int MaxReasonLength = 1000;

    private void MapGrantRoutes(WebApplication app)
    {
        app.MapGet("/api/grants", (HttpContext context) =>
        {
            var caller = Caller(context);
            return Results.Json(_grants.List().Where(g => MaySee(g, caller)).Select(g => DescribeGrant(g, caller)), Json);
        });
        app.MapPost("/api/grants", (Func<HttpContext, Task<IResult>>)RequestGrantAsync);
        app.MapGet("/api/grants/{id}", (HttpContext context, string id) =>
            _grants.Find(id) is { } grant && MaySee(grant, Caller(context))
                ? Results.Json(DescribeGrant(grant, Caller(context)), Json)
                : Problem(404, "no such grant"));
        app.MapPost("/api/grants/{id}/approve", (HttpContext context, string id) => DecideGrant(context, id, "approve"));
        app.MapPost("/api/grants/{id}/deny", (HttpContext context, string id) => DecideGrant(context, id, "deny"));
        app.MapDelete("/api/grants/{id}", (HttpContext context, string id) => DecideGrant(context, id, "revoke"));
    }

    private bool MaySee(Grant grant, WireIdentity caller) =>
        string.Equals(grant.Requester.Subject, caller.Subject, StringComparison.Ordinal) || _grants.IsApprover(caller);

    /// <summary>POST /api/grants: <c>{"target": "...", "duration": "hh:mm:ss", "reason": "..."}</c>; 201 with the pending grant.</summary>
    private async Task<IResult> RequestGrantAsync(HttpContext context)
    {
        var caller = Caller(context);
        JsonElement body;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
            body = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return Problem(400, "the body must be a JSON object: {\"target\": \"...\", \"duration\": \"hh:mm:ss\", \"reason\": \"...\"}");
        }
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Problem(400, "the body must be a JSON object: {\"target\": \"...\", \"duration\": \"hh:mm:ss\", \"reason\": \"...\"}");
        }
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name is not ("target" or "duration" or "reason"))
            {
                return Problem(400, $"unknown key '{property.Name}' (expected target, duration, reason)");
            }
        }
        string? target = StringOf(body, "target");
        string? durationText = StringOf(body, "duration");
        string? reason = StringOf(body, "reason")?.Trim();
        if (string.IsNullOrEmpty(target) || !TargetNames().Contains(target))
        {
            return Problem(400, target is null ? "target is required" : $"no target is named '{target}'");
        }
        if (durationText is null || !TimeSpan.TryParseExact(durationText, @"hh\:mm\:ss", CultureInfo.InvariantCulture, out var duration)
            || duration <= TimeSpan.Zero)
        {
            return Problem(400, "duration must be a positive hh:mm:ss");
        }
        if (duration > _grants.Options.MaxDuration)
        {
            return Problem(400, $"duration must be at most {_grants.Options.MaxDuration:c} (grants.maxDuration)");
        }
        if (string.IsNullOrEmpty(reason) || reason.Length > MaxReasonLength)
        {
            return Problem(400, $"reason is required (at most {MaxReasonLength} characters): the approvers read it");
        }

        var result = _grants.Request(caller, target, duration, reason, context.Connection.RemoteIpAddress?.ToString() ?? "", out var grant);
        if (result != GrantResult.Done)
        {
            return Problem(503, result == GrantResult.Unavailable
                ? "the shared state is unavailable, so the grant was not asked for"
                : "the grant could not be recorded, so it was not asked for (recording.onFailure is deny)");
        }
        return Results.Json(DescribeGrant(grant!, caller), Json, statusCode: StatusCodes.Status201Created);
    }

    private IResult DecideGrant(HttpContext context, string id, string action)
    {
        var caller = Caller(context);
        Grant? grant;
        var result = action switch
        {
            "approve" => _grants.Approve(id, caller, out grant),
            "deny" => _grants.Deny(id, caller, reason: null, out grant),
            _ => _grants.Revoke(id, caller, out grant),
        };
        Log.GrantDecided(_logger, caller.Subject, action, id, result.ToString());
        return result switch
        {
            GrantResult.Done => Results.Json(DescribeGrant(grant!, caller), Json),
            GrantResult.OwnRequest => Problem(403, "nobody approves their own request"),
            GrantResult.NotAllowed => Problem(403, action == "revoke"
                ? "only the requester or a member of the grant approver groups may end a grant"
                : $"only members of {string.Join(", ", _grants.Options.Approvers)} (grants.approvers) may decide grants"),
            GrantResult.Finished => Problem(409, $"the grant is {Name(grant!.Status)}: there is nothing to {action}"),
            GrantResult.RecorderFailed => Problem(503, "the decision could not be recorded, so it was not taken (recording.onFailure is deny)"),
            GrantResult.Unavailable => Problem(503, "the shared state is unavailable, so nothing changed"),
            _ => Problem(404, "no such grant"),
        };
    }

    private HashSet<string> TargetNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var target in _settings.Postgres?.Targets ?? [])
        {
            names.Add(target.Name);
        }
        foreach (var target in _settings.Http?.Targets ?? [])
        {
            names.Add(target.Name);
        }
        foreach (var target in _settings.Ssh?.Proxy.Targets ?? [])
        {
            names.Add(target.Name);
        }
        return names;
    }

    private static string? StringOf(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Name(GrantStatus status) => GrantStatusNames.Name(status);

    private object DescribeGrant(Grant grant, WireIdentity caller)
    {
        bool own = string.Equals(grant.Requester.Subject, caller.Subject, StringComparison.Ordinal);
        bool approver = _grants.IsApprover(caller);
        return new
        {
            id = grant.Id,
            subject = grant.Requester.Subject,
            target = grant.Target,
            duration = grant.Duration.ToString("c", CultureInfo.InvariantCulture),
            reason = grant.Reason,
            status = Name(grant.Status),
            requestedAt = grant.RequestedAt,
            decidedBy = grant.DecidedBy,
            decidedAt = grant.DecidedAt,
            expiresAt = grant.ExpiresAt,
            endedAt = grant.EndedAt,
            note = grant.Note,
            recording = grant.Recording,
            mayDecide = grant.Status == GrantStatus.Pending && approver && !own,
            mayRevoke = grant.Status is GrantStatus.Pending or GrantStatus.Active && (approver || own),
        };
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "admin API: {Subject} asked to {Action} grant {Id}: {Result}")]
        public static partial void GrantDecided(ILogger logger, string subject, string action, string id, string result);
    }
}
