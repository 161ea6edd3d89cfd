using System.Text;
using Wire.Enforcement.Policy;

namespace Wire.Http.Enforcement;

/// <summary>
/// Derives what a Kubernetes API request does from its method, path and query the way kube-apiserver does
/// (its request-info rules): <c>/api/v1/...</c> is the core group, <c>/apis/GROUP/VERSION/...</c> any other;
/// <c>namespaces/NS/RESOURCE/NAME/SUBRESOURCE</c>; GET without a name is list, or watch with <c>watch=true</c> (or
/// the old <c>/watch/</c> prefix); DELETE without a name is deletecollection; exec, attach, portforward, log and
/// proxy are subresources, not verbs. Anything else (<c>/healthz</c>, <c>/version</c>, <c>/openapi/v3</c>) is a
/// non-resource URL whose verb is the lower-case method.
/// </summary>
internal static class KubernetesRequestInfo
{
    /// <summary>The facts of one request to a Kubernetes target.</summary>
    /// <param name="method">The request method.</param>
    /// <param name="host">The Host field without its port.</param>
    /// <param name="target">The request-target in origin-form (path and query).</param>
    /// <param name="commands">The <c>command</c> query parameters of an exec, decoded; empty otherwise.</param>
    public static HttpAccess Describe(string method, string host, string target, out IReadOnlyList<string> commands)
    {
        int queryStart = target.IndexOf('?', StringComparison.Ordinal);
        string path = queryStart < 0 ? target : target[..queryStart];
        string query = queryStart < 0 ? "" : target[(queryStart + 1)..];
        commands = [];
        var access = new HttpAccess(method, host, path);

        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Unescape).ToArray();
        string? group;
        int next;
        if (parts.Length >= 2 && parts[0] == "api")
        {
            group = "";
            next = 2; // api/VERSION
        }
        else if (parts.Length >= 3 && parts[0] == "apis")
        {
            group = parts[1];
            next = 3; // apis/GROUP/VERSION
        }
        else
        {
            return access with { Verb = method.ToLowerInvariant(), NonResourceUrl = true };
        }
        if (parts.Length == next)
        {
            // The API's discovery document (/api/v1, /apis/apps/v1): not a resource.
            return access with { Verb = method.ToLowerInvariant(), NonResourceUrl = true };
        }

        var rest = parts.AsSpan(next);
        bool watchPrefix = false;
        if (rest[0] == "watch")
        {
            // Deprecated /watch/ paths: the verb is watch whatever follows.
            watchPrefix = true;
            rest = rest[1..];
        }

        string? ns = null;
        if (rest.Length > 0 && rest[0] == "namespaces" && rest.Length > 1)
        {
            ns = rest[1];
            // namespaces/NS/status and namespaces/NS/finalize are subresources of the namespace itself.
            if (rest.Length > 2 && rest[2] is not ("status" or "finalize"))
            {
                rest = rest[2..];
            }
        }

        // As kube-apiserver reports it, /api/v1/namespaces/NS is resource namespaces, name NS, in namespace NS.
        string? resource = rest.Length > 0 ? rest[0] : null;
        string? name = rest.Length > 1 ? rest[1] : null;
        string? subresource = rest.Length > 2 ? rest[2] : null;

        string verb = method.ToUpperInvariant() switch
        {
            "POST" => "create",
            "GET" or "HEAD" => "get",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => method.ToLowerInvariant(),
        };
        if (watchPrefix)
        {
            verb = "watch";
        }
        else if (verb == "get" && name is null)
        {
            verb = IsTrue(QueryValues(query, "watch").LastOrDefault()) ? "watch" : "list";
        }
        else if (verb == "delete" && name is null)
        {
            verb = "deletecollection";
        }
        if (subresource is "exec" or "attach")
        {
            commands = [.. QueryValues(query, "command")];
        }

        return access with
        {
            Verb = verb,
            ApiGroup = group,
            Resource = resource,
            Subresource = subresource,
            Namespace = ns,
            Name = name,
        };
    }

    private static bool IsTrue(string? value) => value is "true" or "1";

    /// <summary>The decoded values of a query parameter, in order.</summary>
    public static IEnumerable<string> QueryValues(string query, string name)
    {
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = pair.IndexOf('=', StringComparison.Ordinal);
            string key = Unescape(equals < 0 ? pair : pair[..equals]);
            if (key == name)
            {
                yield return equals < 0 ? "" : Unescape(pair[(equals + 1)..].Replace('+', ' '));
            }
        }
    }

    private static string Unescape(string text)
    {
        if (!text.Contains('%', StringComparison.Ordinal))
        {
            return text;
        }
        try
        {
            return Uri.UnescapeDataString(text);
        }
        catch (UriFormatException)
        {
            return text;
        }
    }

    /// <summary>The text rules' <c>pattern</c> sees: method, target, and for an exec its command line.</summary>
    public static string CommandText(string method, string target, IReadOnlyList<string> commands)
    {
        var text = new StringBuilder(method.Length + target.Length + 16).Append(method).Append(' ').Append(target);
        if (commands.Count > 0)
        {
            text.Append(" command: ").AppendJoin(' ', commands);
        }
        return text.ToString();
    }
}
