using Wire.Http.Enforcement;

namespace Wire.Http.Tests.Enforcement;

/// <summary>
/// Request shapes from the Kubernetes API reference and from what kubectl sends, read as kube-apiserver's request-info
/// rules read them. (No kube-apiserver can run in CI; these cases pin the same derivations.)
/// </summary>
public sealed class KubernetesRequestInfoTests
{
    [Theory]
    // method, target -> verb, group, resource, subresource, namespace, name
    [InlineData("GET", "/api/v1/namespaces/default/pods", "list", "", "pods", null, "default", null)]
    [InlineData("GET", "/api/v1/namespaces/default/pods?limit=500", "list", "", "pods", null, "default", null)]
    [InlineData("GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=10", "watch", "", "pods", null, "default", null)]
    [InlineData("GET", "/api/v1/namespaces/default/pods?watch=1", "watch", "", "pods", null, "default", null)]
    [InlineData("GET", "/api/v1/namespaces/default/pods?watch=false", "list", "", "pods", null, "default", null)]
    [InlineData("GET", "/api/v1/watch/namespaces/default/pods", "watch", "", "pods", null, "default", null)]
    [InlineData("GET", "/api/v1/namespaces/default/pods/web-0", "get", "", "pods", null, "default", "web-0")]
    [InlineData("HEAD", "/api/v1/namespaces/default/pods/web-0", "get", "", "pods", null, "default", "web-0")]
    [InlineData("GET", "/api/v1/namespaces/default/pods/web-0/log?container=app&follow=true", "get", "", "pods", "log", "default", "web-0")]
    [InlineData("POST", "/api/v1/namespaces/default/pods/web-0/exec?command=ls&command=-la&stdout=true", "create", "", "pods", "exec", "default", "web-0")]
    [InlineData("GET", "/api/v1/namespaces/default/pods/web-0/exec?command=sh", "get", "", "pods", "exec", "default", "web-0")]
    [InlineData("POST", "/api/v1/namespaces/default/pods/web-0/portforward", "create", "", "pods", "portforward", "default", "web-0")]
    [InlineData("GET", "/api/v1/namespaces/default/services/web:80/proxy/healthz", "get", "", "services", "proxy", "default", "web:80")]
    [InlineData("POST", "/api/v1/namespaces/default/configmaps", "create", "", "configmaps", null, "default", null)]
    [InlineData("PUT", "/api/v1/namespaces/default/secrets/db", "update", "", "secrets", null, "default", "db")]
    [InlineData("PATCH", "/apis/apps/v1/namespaces/prod/deployments/api", "patch", "apps", "deployments", null, "prod", "api")]
    [InlineData("PATCH", "/apis/apps/v1/namespaces/prod/deployments/api/scale", "patch", "apps", "deployments", "scale", "prod", "api")]
    [InlineData("DELETE", "/apis/apps/v1/namespaces/prod/deployments/api", "delete", "apps", "deployments", null, "prod", "api")]
    [InlineData("DELETE", "/api/v1/namespaces/prod/pods?labelSelector=app%3Dweb", "deletecollection", "", "pods", null, "prod", null)]
    [InlineData("GET", "/api/v1/nodes", "list", "", "nodes", null, null, null)]
    [InlineData("GET", "/api/v1/nodes/node-1", "get", "", "nodes", null, null, "node-1")]
    [InlineData("GET", "/api/v1/namespaces", "list", "", "namespaces", null, null, null)]
    [InlineData("GET", "/api/v1/namespaces/kube-system", "get", "", "namespaces", null, "kube-system", "kube-system")]
    [InlineData("PUT", "/api/v1/namespaces/old/finalize", "update", "", "namespaces", "finalize", "old", "old")]
    [InlineData("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", "get", "rbac.authorization.k8s.io", "clusterroles", null, null, "admin")]
    [InlineData("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "list", "apiextensions.k8s.io", "customresourcedefinitions", null, null, null)]
    [InlineData("GET", "/api/v1/namespaces/my%2Dns/pods", "list", "", "pods", null, "my-ns", null)]
    public void Resource_requests_are_read_as_the_api_server_reads_them(string method, string target, string verb, string group, string resource,
        string? subresource, string? ns, string? name)
    {
        var access = KubernetesRequestInfo.Describe(method, "kube", target, out _);
        Assert.False(access.NonResourceUrl);
        Assert.Equal((verb, group, resource, subresource, ns, name),
            (access.Verb, access.ApiGroup, access.Resource, access.Subresource, access.Namespace, access.Name));
    }

    [Theory]
    [InlineData("GET", "/healthz", "get")]
    [InlineData("GET", "/version", "get")]
    [InlineData("GET", "/openapi/v3", "get")]
    [InlineData("GET", "/api", "get")]
    [InlineData("GET", "/api/v1", "get")]
    [InlineData("GET", "/apis/apps/v1", "get")]
    [InlineData("POST", "/logs/x", "post")]
    public void Other_urls_are_non_resource_urls(string method, string target, string verb)
    {
        var access = KubernetesRequestInfo.Describe(method, "kube", target, out _);
        Assert.True(access.NonResourceUrl);
        Assert.Equal(verb, access.Verb);
        Assert.Null(access.Resource);
    }

    [Fact]
    public void Exec_commands_come_from_the_command_parameters_decoded()
    {
        KubernetesRequestInfo.Describe("POST", "kube",
            "/api/v1/namespaces/default/pods/web-0/exec?container=app&command=rm&command=-rf&command=%2Fdata&command=a+b&stdin=true", out var commands);
        Assert.Equal(["rm", "-rf", "/data", "a b"], commands);
        Assert.Equal("POST /x command: rm -rf /data a b", KubernetesRequestInfo.CommandText("POST", "/x", commands));
    }
}
