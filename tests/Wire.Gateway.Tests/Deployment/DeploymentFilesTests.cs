using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Wire.Gateway.Tests.Deployment;

/// <summary>
/// Runs alone: the check-config tests set process environment variables (the config's <c>env:</c> secrets), which other
/// tests running at the same time would see.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DeploymentCollection
{
    public const string Name = "Deployment";
}

/// <summary>
/// The files under <c>deploy/</c> (deploy/README.md): no CI job builds the image or applies the manifests (there is no
/// Docker engine on the build machine), so these tests check that the Dockerfile, compose file and Kubernetes manifests
/// agree with each other and with <c>deploy/gateway.json</c>, and that the config passes <c>wire run --check-config</c>.
/// </summary>
[Collection(DeploymentCollection.Name)]
public sealed class DeploymentFilesTests
{
    /// <summary>The <c>app</c> user of the .NET container images: <c>$APP_UID</c>.</summary>
    private const int DotnetImageAppUid = 1654;

    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);

    private static readonly JsonDocumentOptions ConfigJsonOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private static readonly string RepoRoot = Configuration.GatewayConfigTests.RepositoryRoot();
    private static readonly string DeployDir = Path.Combine(RepoRoot, "deploy");
    private static readonly string KubernetesDir = Path.Combine(DeployDir, "kubernetes");
    private static readonly string GatewayJsonPath = Path.Combine(DeployDir, "gateway.json");

    // ---------------------------------------------------------------- YAML files

    public static TheoryData<string> YamlFiles() => new(YamlFilePaths());

    private static List<string> YamlFilePaths() =>
        [.. Directory.EnumerateFiles(DeployDir, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(DeployDir, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)];

    [Fact]
    public void Deploy_directory_has_the_expected_files()
    {
        foreach (var name in new[]
                 {
                     "Dockerfile", "gateway.json", "compose.yaml", "README.md", "kubernetes/configmap.yaml",
                     "kubernetes/secret.yaml", "kubernetes/deployment.yaml", "kubernetes/service.yaml",
                 })
        {
            Assert.True(File.Exists(Path.Combine(DeployDir, name)), $"deploy/{name} is missing");
        }
        Assert.True(YamlFilePaths().Count >= 5);
    }

    [Theory]
    [MemberData(nameof(YamlFiles))]
    public void Yaml_file_parses_into_documents(string relativePath)
    {
        var documents = LoadYaml(Path.Combine(DeployDir, relativePath));

        Assert.NotEmpty(documents);
        Assert.All(documents, d => Assert.IsType<YamlMappingNode>(d));
    }

    // ---------------------------------------------------------------- compose

    [Fact]
    public void Compose_builds_the_gateway_from_the_Dockerfile_with_the_repository_as_context()
    {
        var gateway = ComposeService("gateway");
        var build = Get(gateway, "build");
        Assert.NotNull(build);
        var (context, dockerfile) = build is YamlScalarNode s ? (s.Value!, "Dockerfile") : (Str(build, "context") ?? ".", Str(build, "dockerfile") ?? "Dockerfile");

        var contextPath = Path.GetFullPath(context, DeployDir);
        Assert.Equal(Path.TrimEndingDirectorySeparator(RepoRoot), Path.TrimEndingDirectorySeparator(contextPath));
        Assert.Equal(Path.Combine(DeployDir, "Dockerfile"), Path.GetFullPath(dockerfile, contextPath));
    }

    [Fact]
    public void Compose_mounts_the_config_read_only_where_the_image_reads_it()
    {
        var configPath = ContainerConfigPath(Dockerfile.Load().Cmd());
        var mounts = ComposeMounts(ComposeService("gateway"));

        var mount = Assert.Single(mounts, m => m.Target == configPath);
        Assert.Equal("bind", mount.Type);
        Assert.Equal(GatewayJsonPath, Path.GetFullPath(mount.Source!, DeployDir));
        Assert.True(mount.ReadOnly, $"{configPath} should be mounted read-only");

        // Files the config names (TLS certificate and key) must be mounted next to it.
        var config = DeployConfig.Load(GatewayJsonPath);
        foreach (var file in config.Files)
        {
            var inContainer = ContainerPath(configPath, file.Path);
            var mounted = mounts.Exists(m => m.Type == "bind" && m.ReadOnly && Covers(m.Target, inContainer));
            Assert.True(mounted, $"{file.Key} ({inContainer}) is not mounted read-only in the gateway container");
        }
    }

    [Fact]
    public void Compose_keeps_recordings_where_they_outlive_the_container()
    {
        var compose = ComposeRoot();
        var gateway = ComposeService("gateway");
        var config = DeployConfig.Load(GatewayJsonPath);
        var mounts = ComposeMounts(gateway);

        AssertRecordingsShared(config, ComposeReplicas(gateway), "compose service gateway");
        if (config.RecordingsInState)
        {
            // Rows of wire_recordings in the state.postgres database: the container writes nothing to keep.
            var writable = mounts.Where(m => !m.ReadOnly).Select(m => m.Target).ToList();
            Assert.True(writable.Count == 0,
                $"recordings are in the shared store, yet the gateway mounts {string.Join(", ", writable)} writable");
        }
        else
        {
            // A directory: a named volume, so that recordings survive the container.
            var mount = Assert.Single(mounts, m => Covers(m.Target, config.RecordingDirectory!));
            Assert.Equal("volume", mount.Type);
            Assert.False(mount.ReadOnly);
        }

        // No named volume is left over (the former recordings volume): each is mounted by a service.
        var used = Assert.IsType<YamlMappingNode>(Get(compose, "services")).Children.Values
            .SelectMany(service => ComposeMounts(service)).Where(m => m.Type == "volume").Select(m => m.Source).ToHashSet();
        var declared = Get(compose, "volumes") is YamlMappingNode volumes
            ? volumes.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList()
            : [];
        Assert.All(declared, name => Assert.True(used.Contains(name), $"compose volume {name} is declared but no service mounts it"));
        Assert.All(used, name => Assert.True(name is null || declared.Contains(name), $"compose volume {name} is mounted but not declared"));
    }

    [Fact]
    public void Compose_passes_every_env_secret_of_the_config_from_the_environment()
    {
        var config = DeployConfig.Load(GatewayJsonPath);
        var environment = ComposeEnvironment(ComposeService("gateway"));

        Assert.NotEmpty(config.EnvSecrets);
        foreach (var name in config.EnvSecrets)
        {
            Assert.True(environment.TryGetValue(name, out var value), $"compose gateway.environment lacks {name}");
            // Interpolated from the caller's environment or .env, never a value written in the file.
            Assert.StartsWith("${" + name, value, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Compose_publishes_the_listener_ports_and_stops_slower_than_the_shutdown_timeout()
    {
        var gateway = ComposeService("gateway");
        var config = DeployConfig.Load(GatewayJsonPath);

        var published = Assert.IsType<YamlSequenceNode>(Get(gateway, "ports")).Children.Select(ComposeContainerPort).ToHashSet();
        foreach (var listener in config.Listeners)
        {
            Assert.Contains(listener.Port, published);
        }

        var grace = ParseGoDuration(Str(gateway, "stop_grace_period") ?? "10s");
        Assert.True(grace > config.ShutdownTimeout, $"stop_grace_period {grace} must exceed shutdownTimeout {config.ShutdownTimeout}");
    }

    [Fact]
    public void Compose_postgres_is_the_configured_target_and_gates_the_gateway_on_its_health()
    {
        var config = DeployConfig.Load(GatewayJsonPath);
        var gateway = ComposeService("gateway");
        var postgres = ComposeService("postgres");

        Assert.StartsWith("postgres:15", Str(postgres, "image"), StringComparison.Ordinal);
        var test = Get(postgres, "healthcheck", "test");
        var testText = test is YamlSequenceNode seq ? string.Join(' ', seq.Children.Select(c => ((YamlScalarNode)c).Value)) : Str(test);
        Assert.Contains("pg_isready", testText, StringComparison.Ordinal);
        Assert.Equal("service_healthy", Str(gateway, "depends_on", "postgres", "condition"));

        // The config's target is this service, with its database, role and password.
        var target = Assert.Single(config.PostgresTargets);
        Assert.Equal("postgres", target.Host);
        var environment = ComposeEnvironment(postgres);
        Assert.Equal(target.Database, environment["POSTGRES_DB"]);
        Assert.Equal(target.Username, environment["POSTGRES_USER"]);
        Assert.NotNull(target.PasswordEnv);
        Assert.StartsWith("${" + target.PasswordEnv, environment["POSTGRES_PASSWORD"], StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- Kubernetes

    public static TheoryData<string> KubernetesFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(KubernetesDir, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(KubernetesFiles))]
    public void Kubernetes_documents_have_apiVersion_kind_and_name(string file)
    {
        foreach (var doc in LoadYaml(Path.Combine(KubernetesDir, file)))
        {
            Assert.False(string.IsNullOrEmpty(Str(doc, "apiVersion")), $"{file}: apiVersion");
            var kind = Str(doc, "kind");
            Assert.False(string.IsNullOrEmpty(kind), $"{file}: kind");
            if (kind == "Kustomization")
            {
                continue; // a kustomize file, not an object: it has no metadata
            }
            Assert.False(string.IsNullOrEmpty(Str(doc, "metadata", "name")), $"{file}: metadata.name");
        }
    }

    [Fact]
    public void Kustomization_lists_existing_resources_but_not_the_example_secrets()
    {
        var kustomization = Assert.Single(LoadYaml(Path.Combine(KubernetesDir, "kustomization.yaml")));
        var resources = Assert.IsType<YamlSequenceNode>(Get(kustomization, "resources")).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();

        Assert.Contains("deployment.yaml", resources);
        foreach (var resource in resources)
        {
            Assert.True(File.Exists(Path.Combine(KubernetesDir, resource)), $"kustomization.yaml names missing {resource}");
        }
        // `kubectl apply -k` must never overwrite real secrets with the example's placeholders.
        Assert.DoesNotContain("secret.yaml", resources);
    }

    [Fact]
    public void ConfigMap_holds_deploy_gateway_json_byte_for_byte()
    {
        var configMap = KubernetesObject("ConfigMap");
        var embedded = Str(configMap, "data", "gateway.json");

        Assert.NotNull(embedded);
        Assert.Equal(File.ReadAllBytes(GatewayJsonPath), Encoding.UTF8.GetBytes(embedded));
    }

    [Fact]
    public void Deployment_mounts_the_ConfigMap_where_the_image_reads_the_config()
    {
        var deployment = KubernetesObject("Deployment");
        var container = WireContainer(deployment);
        var configPath = ContainerConfigPath(ContainerArgs(container));
        var directory = Path.GetDirectoryName(configPath)!;
        var fileName = Path.GetFileName(configPath);

        var mount = Assert.Single(VolumeMounts(container), m => m.MountPath == directory);
        Assert.True(mount.ReadOnly, $"{directory} should be mounted read-only");
        var files = ProjectedFiles(deployment, mount.Volume);

        // gateway.json comes from the ConfigMap, under the key that holds the config.
        var configMap = KubernetesObject("ConfigMap");
        Assert.True(files.TryGetValue(fileName, out var source), $"{configPath} does not come from volume {mount.Volume}");
        Assert.Equal(("ConfigMap", Str(configMap, "metadata", "name")!, "gateway.json"), source);

        // The files the config names (the TLS pair) come from Secrets in secret.yaml.
        var config = DeployConfig.Load(GatewayJsonPath);
        Assert.NotEmpty(config.Files);
        foreach (var file in config.Files)
        {
            var relative = Path.GetRelativePath(directory, ContainerPath(configPath, file.Path)).Replace('\\', '/');
            Assert.True(files.TryGetValue(relative, out var fileSource), $"{file.Key} ({relative}) is not in volume {mount.Volume}");
            Assert.Equal("Secret", fileSource.Kind);
            AssertSecretKeyExists(fileSource.Name, fileSource.Key);
        }
    }

    [Fact]
    public void Deployment_takes_every_env_secret_of_the_config_from_a_Secret()
    {
        var config = DeployConfig.Load(GatewayJsonPath);
        var env = Assert.IsType<YamlSequenceNode>(Get(WireContainer(KubernetesObject("Deployment")), "env"));

        Assert.NotEmpty(config.EnvSecrets);
        foreach (var name in config.EnvSecrets)
        {
            var entry = env.Children.SingleOrDefault(e => Str(e, "name") == name);
            Assert.True(entry is not null, $"the wire container has no env {name}");
            Assert.Null(Get(entry, "value"));
            var secretName = Str(entry, "valueFrom", "secretKeyRef", "name");
            var key = Str(entry, "valueFrom", "secretKeyRef", "key");
            Assert.True(secretName is not null && key is not null, $"env {name} is not a secretKeyRef");
            AssertSecretKeyExists(secretName!, key!);
        }
    }

    [Fact]
    public void Deployment_probes_healthz_on_the_admin_port_of_the_config()
    {
        var config = DeployConfig.Load(GatewayJsonPath);
        var admin = Assert.Single(config.Listeners, l => l.Section == "admin");
        var container = WireContainer(KubernetesObject("Deployment"));
        var ports = ContainerPorts(container);

        foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
        {
            Assert.Equal("/healthz", Str(container, probe, "httpGet", "path"));
            var port = Str(container, probe, "httpGet", "port");
            Assert.NotNull(port);
            Assert.Equal(admin.Port, ResolvePort(ports, port));
        }
        foreach (var listener in config.Listeners)
        {
            Assert.Contains(listener.Port, ports.Values);
        }
    }

    [Fact]
    public void Deployment_runs_non_root_read_only_without_capabilities()
    {
        var deployment = KubernetesObject("Deployment");
        var pod = Get(deployment, "spec", "template", "spec", "securityContext");
        var container = Get(WireContainer(deployment), "securityContext");
        string? Effective(string key) => Str(container, key) ?? Str(pod, key);

        Assert.Equal("true", Effective("runAsNonRoot"));
        Assert.Equal(DotnetImageAppUid.ToString(CultureInfo.InvariantCulture), Effective("runAsUser"));
        Assert.Equal(Dockerfile.Load().FinalUserId(), int.Parse(Effective("runAsUser")!, CultureInfo.InvariantCulture));
        Assert.Equal("true", Str(container, "readOnlyRootFilesystem"));
        Assert.Equal("false", Str(container, "allowPrivilegeEscalation"));
        var drop = Assert.IsType<YamlSequenceNode>(Get(container, "capabilities", "drop"));
        Assert.Contains(drop.Children, c => ((YamlScalarNode)c).Value == "ALL");
    }

    [Fact]
    public void Deployment_has_resources_shared_recordings_and_a_grace_period_over_shutdownTimeout()
    {
        var config = DeployConfig.Load(GatewayJsonPath);
        var deployment = KubernetesObject("Deployment");
        var container = WireContainer(deployment);

        Assert.NotNull(Str(container, "resources", "requests", "cpu"));
        Assert.NotNull(Str(container, "resources", "requests", "memory"));
        Assert.NotNull(Str(container, "resources", "limits", "memory"));

        var grace = int.Parse(Str(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds") ?? "30", CultureInfo.InvariantCulture);
        Assert.True(TimeSpan.FromSeconds(grace) > config.ShutdownTimeout,
            $"terminationGracePeriodSeconds {grace} must exceed shutdownTimeout {config.ShutdownTimeout}");

        // Several replicas each with a volume of their own would split the audit trail between pods (and lose it
        // with an emptyDir): with more than one, recordings must be in the shared store.
        var replicas = int.Parse(Str(deployment, "spec", "replicas") ?? "1", CultureInfo.InvariantCulture);
        AssertRecordingsShared(config, replicas, "the Deployment");
        var mounts = VolumeMounts(container);
        if (config.RecordingsInState)
        {
            // Nothing of the gateway's is kept on the pod's disk: /tmp is the only writable mount.
            var writable = mounts.Where(m => !m.ReadOnly && m.MountPath != "/tmp").Select(m => $"{m.Volume} at {m.MountPath}").ToList();
            Assert.True(writable.Count == 0,
                $"recordings are in the shared store, yet the wire container mounts {string.Join(", ", writable)} writable");
        }
        else
        {
            var mount = Assert.Single(mounts, m => Covers(m.MountPath, config.RecordingDirectory!));
            Assert.False(mount.ReadOnly);
            var volume = Volume(deployment, mount.Volume);
            Assert.True(Get(volume, "emptyDir") is not null || Get(volume, "persistentVolumeClaim") is not null,
                $"recordings volume {mount.Volume} should be an emptyDir or a PersistentVolumeClaim");
        }

        // No volume is left over (the former recordings volume): each is mounted by the container.
        var volumes = Assert.IsType<YamlSequenceNode>(Get(deployment, "spec", "template", "spec", "volumes")).Children.Select(v => Str(v, "name")!);
        Assert.All(volumes, name => Assert.True(mounts.Exists(m => m.Volume == name), $"volume {name} is not mounted"));

        // The root file system is read-only, so /tmp (the runtime's diagnostics socket) needs a volume.
        Assert.Contains(mounts, m => m.MountPath == "/tmp");
    }

    [Fact]
    public void Shared_recordings_rule_fails_per_pod_recordings_with_several_replicas()
    {
        // What the two tests above guard against: recordings back in a per-pod directory with 2 replicas.
        var node = JsonNode.Parse(File.ReadAllText(GatewayJsonPath), documentOptions: ConfigJsonOptions)!;
        node["recording"] = new JsonObject { ["directory"] = "/var/lib/wire/recordings", ["key"] = "env:WIRE_RECORDING_KEY" };
        using var temp = new TempDeployment(node.ToJsonString());

        Assert.False(temp.Config.RecordingsInState);
        Assert.NotNull(temp.Config.StatePostgres);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertRecordingsShared(temp.Config, 2, "test"));
        AssertRecordingsShared(temp.Config, 1, "test");
        AssertRecordingsShared(DeployConfig.Load(GatewayJsonPath), 2, "test");
    }

    /// <summary>
    /// Recordings of several gateway instances are in the shared store (<c>recording.store: "postgres"</c>, in the
    /// <c>state.postgres</c> database), not in a directory of each instance; a single instance may keep a directory.
    /// </summary>
    private static void AssertRecordingsShared(DeployConfig config, int replicas, string what)
    {
        if (config.RecordingStore is null)
        {
            return; // no recording section: nothing is recorded
        }
        if (replicas > 1)
        {
            Assert.True(config.RecordingsInState,
                $"{what} runs {replicas} replicas: recording.store must be \"postgres\" (the shared state), not \"{config.RecordingStore}\"");
        }
        if (config.RecordingsInState)
        {
            Assert.True(config.StatePostgres is not null, "recording.store \"postgres\" needs state.postgres");
            Assert.True(config.RecordingDirectory is null, "recording.directory must be absent with recording.store \"postgres\"");
        }
        else
        {
            Assert.True(config.RecordingDirectory is not null, "recording.store \"directory\" needs recording.directory");
        }
    }

    [Fact]
    public void Service_selects_the_Deployment_and_targets_its_container_ports()
    {
        var config = DeployConfig.Load(GatewayJsonPath);
        var deployment = KubernetesObject("Deployment");
        var service = KubernetesObject("Service");
        var ports = ContainerPorts(WireContainer(deployment));

        var labels = ScalarMap(Get(deployment, "spec", "template", "metadata", "labels"));
        var selector = ScalarMap(Get(service, "spec", "selector"));
        Assert.NotEmpty(selector);
        Assert.All(selector, pair => Assert.Equal(pair.Value, labels.GetValueOrDefault(pair.Key)));
        Assert.All(ScalarMap(Get(deployment, "spec", "selector", "matchLabels")),
            pair => Assert.Equal(pair.Value, labels.GetValueOrDefault(pair.Key)));

        var targets = new List<int>();
        foreach (var port in Assert.IsType<YamlSequenceNode>(Get(service, "spec", "ports")).Children)
        {
            var target = Str(port, "targetPort") ?? Str(port, "port")!;
            Assert.True(ports.ContainsKey(target) || ports.ContainsValue(ParseInt(target) ?? -1),
                $"Service targetPort {target} is not a container port");
            targets.Add(ResolvePort(ports, target));
        }
        // The PostgreSQL listener, and the admin API on a port of its own.
        Assert.Contains(config.Listeners.Single(l => l.Section == "postgres").Port, targets);
        Assert.Contains(config.Listeners.Single(l => l.Section == "admin").Port, targets);
        Assert.Equal(targets.Count, targets.Distinct().Count());
    }

    // ---------------------------------------------------------------- Dockerfile

    [Fact]
    public void Dockerfile_parser_handles_continuations_comments_and_json_forms()
    {
        var parsed = Dockerfile.Parse("""
            # syntax=docker/dockerfile:1
            FROM a:1 AS one
            RUN echo \
                # a comment inside a continuation is dropped
                two \

                three
            from --platform=$BUILDPLATFORM b:2
            COPY --from=one /x /y
            ENTRYPOINT ["dotnet", "/app/x.dll"]
            """);

        Assert.Equal(new[] { "FROM", "RUN", "FROM", "COPY", "ENTRYPOINT" }, parsed.Instructions.Select(i => i.Keyword));
        Assert.Equal("echo two three", Regex.Replace(parsed.Instructions[1].Arguments, @"\s+", " "));
        Assert.Equal(new[] { ("one", "a:1"), ("1", "b:2") }, parsed.Stages.Select(s => (s.Name, s.Image)));
        Assert.Equal(new[] { "dotnet", "/app/x.dll" }, Dockerfile.JsonForm(parsed.Instructions[4]));
        Assert.Null(Dockerfile.JsonForm(new Dockerfile.Instruction("CMD", "run --config x", 1)));
    }

    [Fact]
    public void Dockerfile_final_stage_is_the_matching_dotnet_runtime_image()
    {
        var dockerfile = Dockerfile.Load();
        var version = TargetFrameworkVersion();

        Assert.True(dockerfile.Stages.Count >= 2, "a multi-stage build");
        Assert.Equal($"mcr.microsoft.com/dotnet/sdk:{version}", dockerfile.Stages[0].Image);
        // The gateway references ASP.NET Core (admin API): the plain runtime image would not start it.
        var runtime = UsesAspNetCore() ? "aspnet" : "(aspnet|runtime)";
        Assert.Matches($@"^mcr\.microsoft\.com/dotnet/{runtime}:{Regex.Escape(version)}(-[a-z0-9.-]+)?$", dockerfile.Stages[^1].Image);
    }

    [Fact]
    public void Dockerfile_runs_wire_dll_as_a_non_root_user()
    {
        var dockerfile = Dockerfile.Load();
        var final = dockerfile.FinalStageInstructions();

        Assert.Contains(final, i => i.Keyword == "USER");
        Assert.NotEqual(0, dockerfile.FinalUserId());

        var entrypoint = Dockerfile.JsonForm(Assert.Single(final, i => i.Keyword == "ENTRYPOINT"));
        Assert.NotNull(entrypoint);
        Assert.Equal("dotnet", entrypoint[0]);
        Assert.Equal($"{GatewayAssemblyName()}.dll", Path.GetFileName(entrypoint[1]));
        // wire.dll is where the publish output was copied.
        var copied = dockerfile.CopyFromDestinations();
        Assert.Contains(Path.GetDirectoryName(entrypoint[1])!, copied);

        Assert.Equal(new[] { "run", "--config" }, dockerfile.Cmd()[..2]);
    }

    [Fact]
    public void Dockerfile_copies_only_from_earlier_stages()
    {
        var dockerfile = Dockerfile.Load();
        var seen = 0;
        for (var stage = 0; stage < dockerfile.Stages.Count; stage++)
        {
            foreach (var copy in dockerfile.StageInstructions(stage).Where(i => i.Keyword is "COPY" or "ADD"))
            {
                var from = Regex.Match(copy.Arguments, @"--from=(\S+)");
                if (!from.Success)
                {
                    continue;
                }
                seen++;
                var name = from.Groups[1].Value;
                var earlier = dockerfile.Stages.Take(stage).ToList();
                var isEarlierStage = earlier.Exists(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
                Assert.True(isEarlierStage, $"line {copy.Line}: COPY --from={name} does not name an earlier stage");
            }
        }
        Assert.True(seen > 0, "the final stage copies the publish output from the build stage");
    }

    [Fact]
    public void Dockerfile_exposes_exactly_the_listener_ports_of_the_config()
    {
        var config = DeployConfig.Load(GatewayJsonPath);
        var exposed = Dockerfile.Load().FinalStageInstructions()
            .Where(i => i.Keyword == "EXPOSE")
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => int.Parse(p.Split('/')[0], CultureInfo.InvariantCulture))
            .Order()
            .ToList();

        Assert.Equal(config.Listeners.Select(l => l.Port).Order(), exposed);
        // Published ports only reach a listener bound to every interface of the container.
        Assert.All(config.Listeners, l => Assert.True(l.Host is "0.0.0.0" or "[::]", $"{l.Section}.listen is {l.Host}, not every interface"));
    }

    // ---------------------------------------------------------------- wire run --check-config

    [Fact]
    public async Task Deploy_gateway_json_passes_check_config()
    {
        using var temp = new TempDeployment(File.ReadAllText(GatewayJsonPath));
        using var env = TestSecrets.Set(temp.Config.EnvSecrets);

        // Recordings go to the shared state: no directory in the config, nothing for the deployment to mount.
        Assert.True(temp.Config.RecordingsInState, "deploy/gateway.json should keep recordings in the shared store");
        Assert.Null(temp.Config.RecordingDirectory);
        var before = temp.Snapshot();

        var (exitCode, output, error) = await CheckConfigAsync(temp.ConfigPath);

        Assert.True(exitCode == 0, $"exit {exitCode}: {error}");
        Assert.Contains("gateway.json is valid", output, StringComparison.Ordinal);
        // A dry run changes nothing on disk: no file or directory appears next to the config (nor a recording directory).
        Assert.Equal(before, temp.Snapshot());
    }

    [Fact]
    public async Task Check_config_rejects_a_recording_directory_with_the_shared_store()
    {
        var node = JsonNode.Parse(File.ReadAllText(GatewayJsonPath), documentOptions: ConfigJsonOptions)!;
        node["recording"]!["directory"] = "recordings";
        using var temp = new TempDeployment(node.ToJsonString());
        using var env = TestSecrets.Set(temp.Config.EnvSecrets);
        var before = temp.Snapshot();

        var (exitCode, output, error) = await CheckConfigAsync(temp.ConfigPath);

        Assert.Equal(2, exitCode);
        Assert.Contains("recording.directory", error, StringComparison.Ordinal);
        Assert.DoesNotContain("is valid", output, StringComparison.Ordinal);
        Assert.Equal(before, temp.Snapshot());
    }

    [Fact]
    public async Task ConfigMap_gateway_json_passes_check_config()
    {
        var embedded = Str(KubernetesObject("ConfigMap"), "data", "gateway.json")!;
        using var temp = new TempDeployment(embedded);
        using var env = TestSecrets.Set(temp.Config.EnvSecrets);

        var (exitCode, output, error) = await CheckConfigAsync(temp.ConfigPath);

        Assert.True(exitCode == 0, $"exit {exitCode}: {error}");
        Assert.Contains("is valid", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_rejects_an_unknown_key_by_name()
    {
        var node = JsonNode.Parse(File.ReadAllText(GatewayJsonPath), documentOptions: ConfigJsonOptions)!;
        node["postgres"]!["listenAddress"] = "0.0.0.0:6432";
        using var temp = new TempDeployment(node.ToJsonString());
        using var env = TestSecrets.Set(temp.Config.EnvSecrets);

        var (exitCode, output, error) = await CheckConfigAsync(temp.ConfigPath);

        Assert.Equal(2, exitCode);
        Assert.Contains("postgres.listenAddress: unknown key", error, StringComparison.Ordinal);
        Assert.DoesNotContain("is valid", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_needs_every_env_secret()
    {
        using var temp = new TempDeployment(File.ReadAllText(GatewayJsonPath));
        var missing = temp.Config.EnvSecrets[^1];
        using var env = TestSecrets.Set(temp.Config.EnvSecrets.Where(n => n != missing));

        var (exitCode, _, error) = await CheckConfigAsync(temp.ConfigPath);

        Assert.Equal(2, exitCode);
        Assert.Contains($"environment variable {missing} is not set", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_needs_the_tls_files_next_to_the_config()
    {
        using var temp = new TempDeployment(File.ReadAllText(GatewayJsonPath), writeFiles: false);
        using var env = TestSecrets.Set(temp.Config.EnvSecrets);

        var (exitCode, _, error) = await CheckConfigAsync(temp.ConfigPath);

        Assert.Equal(2, exitCode);
        Assert.Contains(temp.Config.Files[0].Key, error, StringComparison.Ordinal);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    /// <summary>Runs <c>wire run --config PATH --check-config</c> in-process, its output and errors captured.</summary>
    private static async Task<(int ExitCode, string Output, string Error)> CheckConfigAsync(string configPath)
    {
        using var output = new StringWriter { NewLine = "\n" };
        using var error = new StringWriter { NewLine = "\n" };
        var exitCode = await WireCommandLine.InvokeAsync(["run", "--config", configPath, "--check-config"], output, error)
            .WaitAsync(CliTimeout);
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>A copy of a config in a temp directory, with a throwaway TLS pair where it names certificate and key files.</summary>
    private sealed class TempDeployment : IDisposable
    {
        private readonly string _root = Directory.CreateTempSubdirectory("wire-deploy-").FullName;

        public TempDeployment(string json, bool writeFiles = true)
        {
            ConfigPath = Path.Combine(_root, "gateway.json");
            File.WriteAllText(ConfigPath, json);
            Config = DeployConfig.Load(ConfigPath);
            if (writeFiles)
            {
                WriteFiles();
            }
        }

        public string ConfigPath { get; }

        public DeployConfig Config { get; }

        /// <summary>Every file and directory under the config's directory, and whether the recording directory exists.</summary>
        public List<string> Snapshot()
        {
            List<string> entries =
            [
                .. Directory.EnumerateFileSystemEntries(_root, "*", SearchOption.AllDirectories)
                    .Select(e => Path.GetRelativePath(_root, e))
                    .Order(StringComparer.Ordinal),
            ];
            if (Config.RecordingDirectory is { } recordings)
            {
                entries.Add($"{recordings}: {(Directory.Exists(Path.GetFullPath(recordings, _root)) ? "exists" : "absent")}");
            }
            return entries;
        }

        private void WriteFiles()
        {
            foreach (var pair in Config.Files.GroupBy(f => f.Key[..f.Key.LastIndexOf('.')]))
            {
                var certificate = pair.SingleOrDefault(f => f.Key.EndsWith(".certificate", StringComparison.Ordinal));
                var key = pair.SingleOrDefault(f => f.Key.EndsWith(".key", StringComparison.Ordinal));
                Assert.True(certificate is not null && key is not null && pair.Count() == 2,
                    $"the test only knows how to make certificate/key pairs, not {string.Join(", ", pair.Select(f => f.Key))}");
                using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var request = new CertificateRequest("CN=wire-deploy-test", ecdsa, HashAlgorithmName.SHA256);
                using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
                Write(certificate.Path, cert.ExportCertificatePem());
                Write(key.Path, ecdsa.ExportPkcs8PrivateKeyPem());
            }
        }

        private void Write(string configPath, string contents)
        {
            Assert.False(Path.IsPathRooted(configPath), $"{configPath}: the test can only create files relative to the config");
            var path = Path.GetFullPath(configPath, _root);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, contents);
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // best effort
            }
        }
    }

    /// <summary>Test-only values for the config's <c>env:</c> secrets, set in the process environment and restored on dispose.</summary>
    private sealed class TestSecrets : IDisposable
    {
        private readonly Dictionary<string, string?> _previous = new(StringComparer.Ordinal);

        private TestSecrets(IReadOnlyList<string> all)
        {
            foreach (var name in all)
            {
                _previous[name] = Environment.GetEnvironmentVariable(name);
            }
        }

        /// <summary>Sets <paramref name="names"/> (each to its own value: tokens must differ, the recording key needs 32 bytes, state.postgres is a connection string).</summary>
        public static TestSecrets Set(IEnumerable<string> names)
        {
            var list = names.ToList();
            var secrets = new TestSecrets(DeployConfig.Load(GatewayJsonPath).EnvSecrets.Union(list).ToList());
            foreach (var name in secrets._previous.Keys)
            {
                // One shape fits every secret: a token, a password, a 32-byte key and (state.postgres) a connection string.
                Environment.SetEnvironmentVariable(name, list.Contains(name) ? $"Host=localhost;Password=test-only-{name}-0123456789abcdef0123456789abcdef" : null);
            }
            return secrets;
        }

        public void Dispose()
        {
            foreach (var (name, value) in _previous)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    // ---------------------------------------------------------------- the config, as the deployment files see it

    /// <summary>What the deployment files depend on in a gateway config.</summary>
    private sealed record DeployConfig(
        IReadOnlyList<Listener> Listeners,
        IReadOnlyList<string> EnvSecrets,
        IReadOnlyList<ConfigFile> Files,
        string? RecordingStore,
        string? RecordingDirectory,
        string? StatePostgres,
        TimeSpan ShutdownTimeout,
        IReadOnlyList<PgTarget> PostgresTargets)
    {
        /// <summary>Whether recordings are rows of <c>wire_recordings</c> in the shared state (<c>recording.store: "postgres"</c>).</summary>
        public bool RecordingsInState => RecordingStore == "postgres";

        // docs/configuration.md: the default listen addresses of each section.
        private static readonly (string Section, string Default)[] ListenerSections =
            [("postgres", "127.0.0.1:6432"), ("http", "127.0.0.1:8443"), ("ssh", "127.0.0.1:2222"), ("admin", "127.0.0.1:8080")];

        public static DeployConfig Load(string path)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path), ConfigJsonOptions);
            var root = document.RootElement;

            var listeners = new List<Listener>();
            foreach (var (section, fallback) in ListenerSections)
            {
                if (root.TryGetProperty(section, out var element) && element.ValueKind == JsonValueKind.Object)
                {
                    var listen = element.TryGetProperty("listen", out var l) ? l.GetString()! : fallback;
                    var colon = listen.LastIndexOf(':');
                    listeners.Add(new Listener(section, listen[..colon], int.Parse(listen[(colon + 1)..], CultureInfo.InvariantCulture)));
                }
            }

            var env = new List<string>();
            CollectEnvSecrets(root, env);

            var files = new List<ConfigFile>();
            foreach (var section in new[] { "postgres", "http" })
            {
                if (Find(root, section, "tls") is { } tls)
                {
                    files.Add(new ConfigFile($"{section}.tls.certificate", tls.GetProperty("certificate").GetString()!));
                    files.Add(new ConfigFile($"{section}.tls.key", tls.GetProperty("key").GetString()!));
                }
            }
            if (Find(root, "identity", "oidc", "jwksFile") is { } jwks)
            {
                files.Add(new ConfigFile("identity.oidc.jwksFile", jwks.GetString()!));
            }

            var targets = new List<PgTarget>();
            if (Find(root, "postgres", "targets") is { } pgTargets)
            {
                foreach (var t in pgTargets.EnumerateArray())
                {
                    string? Text(string key) => t.TryGetProperty(key, out var v) ? v.GetString() : null;
                    var password = Text("password");
                    targets.Add(new PgTarget(Text("host")!, Text("database") ?? Text("name")!, Text("username")!,
                        password is not null && password.StartsWith("env:", StringComparison.Ordinal) ? password[4..] : null));
                }
            }

            var shutdown = root.TryGetProperty("shutdownTimeout", out var s)
                ? TimeSpan.ParseExact(s.GetString()!, "c", CultureInfo.InvariantCulture)
                : TimeSpan.FromSeconds(30);
            // docs/configuration.md: recording.store defaults to "directory"; null when there is no recording section.
            var recordingStore = Find(root, "recording") is null ? null : Find(root, "recording", "store")?.GetString() ?? "directory";
            return new DeployConfig(listeners, env, files, recordingStore, Find(root, "recording", "directory")?.GetString(),
                Find(root, "state", "postgres")?.GetString(), shutdown, targets);
        }

        private static JsonElement? Find(JsonElement element, params string[] path)
        {
            foreach (var key in path)
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(key, out element) || element.ValueKind == JsonValueKind.Null)
                {
                    return null;
                }
            }
            return element;
        }

        private static void CollectEnvSecrets(JsonElement element, List<string> names)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        CollectEnvSecrets(property.Value, names);
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        CollectEnvSecrets(item, names);
                    }
                    break;
                case JsonValueKind.String when element.GetString()!.StartsWith("env:", StringComparison.Ordinal):
                    var name = element.GetString()![4..];
                    if (!names.Contains(name))
                    {
                        names.Add(name);
                    }
                    break;
            }
        }
    }

    private sealed record Listener(string Section, string Host, int Port);

    /// <summary>A file the config names (<paramref name="Path"/> as written, relative to the config's directory or absolute).</summary>
    private sealed record ConfigFile(string Key, string Path);

    private sealed record PgTarget(string Host, string Database, string Username, string? PasswordEnv);

    // ---------------------------------------------------------------- Dockerfile parsing

    /// <summary>
    /// A small Dockerfile reader: instructions with their arguments, continuation lines joined, comment lines (also inside
    /// a continuation) and empty continuation lines dropped; stages by <c>FROM</c>. Heredocs are not supported.
    /// </summary>
    internal sealed class Dockerfile
    {
        private Dockerfile(List<Instruction> instructions)
        {
            Instructions = instructions;
            var stages = new List<Stage>();
            for (var i = 0; i < instructions.Count; i++)
            {
                if (instructions[i].Keyword != "FROM")
                {
                    continue;
                }
                var words = instructions[i].Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
                var name = words.Count >= 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase)
                    ? words[2]
                    : stages.Count.ToString(CultureInfo.InvariantCulture);
                stages.Add(new Stage(name, words[0], i));
            }
            Stages = stages;
        }

        public IReadOnlyList<Instruction> Instructions { get; }

        public IReadOnlyList<Stage> Stages { get; }

        public static Dockerfile Load() => Parse(File.ReadAllText(Path.Combine(DeployDir, "Dockerfile")));

        public static Dockerfile Parse(string text)
        {
            var instructions = new List<Instruction>();
            var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
            var current = new StringBuilder();
            var start = 0;
            for (var n = 0; n < lines.Length; n++)
            {
                var line = lines[n];
                var trimmed = line.Trim();
                if (trimmed.StartsWith('#') || (trimmed.Length == 0 && current.Length > 0))
                {
                    continue; // comments, and empty lines inside a continuation
                }
                if (trimmed.Length == 0)
                {
                    continue;
                }
                if (current.Length == 0)
                {
                    start = n + 1;
                }
                var continues = trimmed.EndsWith('\\');
                current.Append(continues ? trimmed[..^1] : trimmed).Append(' ');
                if (!continues)
                {
                    Add(instructions, current.ToString().Trim(), start);
                    current.Clear();
                }
            }
            if (current.Length > 0)
            {
                Add(instructions, current.ToString().Trim(), start);
            }
            return new Dockerfile(instructions);
        }

        private static void Add(List<Instruction> instructions, string text, int line)
        {
            var space = text.IndexOfAny([' ', '\t']);
            var keyword = (space < 0 ? text : text[..space]).ToUpperInvariant();
            instructions.Add(new Instruction(keyword, space < 0 ? string.Empty : text[(space + 1)..].Trim(), line));
        }

        /// <summary>The arguments of an exec-form (JSON array) instruction; null in shell form.</summary>
        public static string[]? JsonForm(Instruction instruction)
        {
            if (!instruction.Arguments.StartsWith('['))
            {
                return null;
            }
            try
            {
                return JsonSerializer.Deserialize<string[]>(instruction.Arguments);
            }
            catch (JsonException)
            {
                return null;
            }
        }

        public IEnumerable<Instruction> StageInstructions(int stage)
        {
            var from = Stages[stage].Index;
            var to = stage + 1 < Stages.Count ? Stages[stage + 1].Index : Instructions.Count;
            return Instructions.Skip(from).Take(to - from);
        }

        public List<Instruction> FinalStageInstructions() => [.. StageInstructions(Stages.Count - 1)];

        /// <summary>The numeric user the final stage runs as; <c>$APP_UID</c> is the .NET images' app user.</summary>
        public int FinalUserId()
        {
            var user = FinalStageInstructions().LastOrDefault(i => i.Keyword == "USER")?.Arguments.Split(':')[0]
                ?? throw new InvalidOperationException("no USER in the final stage: it would run as root");
            if (user is "$APP_UID" or "${APP_UID}" && Stages[^1].Image.StartsWith("mcr.microsoft.com/dotnet/", StringComparison.Ordinal))
            {
                return DotnetImageAppUid;
            }
            if (user == "root")
            {
                return 0;
            }
            return int.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
                ? uid
                : throw new InvalidOperationException($"USER {user}: use a numeric user id (runAsNonRoot can only verify numbers)");
        }

        public string[] Cmd() =>
            JsonForm(FinalStageInstructions().Last(i => i.Keyword == "CMD")) ?? throw new InvalidOperationException("CMD is not in exec form");

        /// <summary>The destinations (absolute, resolved against WORKDIR) of the final stage's <c>COPY --from</c>s.</summary>
        public List<string> CopyFromDestinations()
        {
            var workdir = "/";
            var destinations = new List<string>();
            foreach (var instruction in FinalStageInstructions())
            {
                if (instruction.Keyword == "WORKDIR")
                {
                    workdir = instruction.Arguments.StartsWith('/') ? instruction.Arguments : $"{workdir.TrimEnd('/')}/{instruction.Arguments}";
                }
                else if (instruction.Keyword == "COPY" && instruction.Arguments.Contains("--from=", StringComparison.Ordinal))
                {
                    var destination = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1];
                    var absolute = destination.StartsWith('/') ? destination : $"{workdir.TrimEnd('/')}/{destination}";
                    destinations.Add(Path.TrimEndingDirectorySeparator(absolute.Replace("/./", "/", StringComparison.Ordinal).TrimEnd('.')));
                }
            }
            return destinations;
        }

        internal sealed record Instruction(string Keyword, string Arguments, int Line);

        internal sealed record Stage(string Name, string Image, int Index);
    }

    // ---------------------------------------------------------------- helpers

    private static List<YamlNode> LoadYaml(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(path)))
        {
            stream.Load(reader);
        }
        return [.. stream.Documents.Select(d => d.RootNode)];
    }

    private static YamlNode? Get(YamlNode? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out node))
            {
                return null;
            }
        }
        return node;
    }

    private static string? Str(YamlNode? node, params string[] path) => (Get(node, path) as YamlScalarNode)?.Value;

    private static Dictionary<string, string?> ScalarMap(YamlNode? node) =>
        node is YamlMappingNode map
            ? map.Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => (p.Value as YamlScalarNode)?.Value, StringComparer.Ordinal)
            : [];

    private static int? ParseInt(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>Whether <paramref name="path"/> is <paramref name="mountPoint"/> or inside it.</summary>
    private static bool Covers(string? mountPoint, string path)
    {
        if (mountPoint is null)
        {
            return false;
        }
        var root = mountPoint.TrimEnd('/');
        return path == root || path.StartsWith(root + "/", StringComparison.Ordinal);
    }

    /// <summary>A path the config names, as the container sees it: relative paths resolve against the config's directory.</summary>
    private static string ContainerPath(string configPath, string path) =>
        path.StartsWith('/') ? path : $"{configPath[..configPath.LastIndexOf('/')]}/{path}";

    /// <summary>The <c>--config</c> value of <c>wire run</c>'s arguments.</summary>
    private static string ContainerConfigPath(IReadOnlyList<string> args)
    {
        Assert.Equal("run", args[0]);
        var index = args.ToList().IndexOf("--config");
        Assert.True(index > 0 && index + 1 < args.Count, "wire run without --config");
        var path = args[index + 1];
        Assert.StartsWith("/", path, StringComparison.Ordinal);
        return path;
    }

    private static string TargetFrameworkVersion()
    {
        var props = File.ReadAllText(Path.Combine(RepoRoot, "Directory.Build.props"));
        var match = Regex.Match(props, @"<TargetFramework>net(\d+\.\d+)</TargetFramework>");
        Assert.True(match.Success, "no TargetFramework in Directory.Build.props");
        return match.Groups[1].Value;
    }

    private static bool UsesAspNetCore() =>
        Directory.EnumerateFiles(Path.Combine(RepoRoot, "src"), "*.csproj", SearchOption.AllDirectories)
            .Any(f => File.ReadAllText(f).Contains("<FrameworkReference Include=\"Microsoft.AspNetCore.App\"", StringComparison.Ordinal));

    private static string GatewayAssemblyName()
    {
        var project = File.ReadAllText(Path.Combine(RepoRoot, "src", "Wire.Gateway", "Wire.Gateway.csproj"));
        return Regex.Match(project, "<AssemblyName>([^<]+)</AssemblyName>").Groups[1].Value is { Length: > 0 } name ? name : "Wire.Gateway";
    }

    // compose

    private static YamlNode ComposeRoot() => Assert.Single(LoadYaml(Path.Combine(DeployDir, "compose.yaml")));

    private static YamlMappingNode ComposeService(string name) =>
        Assert.IsType<YamlMappingNode>(Get(ComposeRoot(), "services", name));

    private sealed record ComposeMount(string Type, string? Source, string Target, bool ReadOnly);

    /// <summary>How many containers compose runs for a service: <c>deploy.replicas</c> or <c>scale</c>, 1 by default.</summary>
    private static int ComposeReplicas(YamlNode service) =>
        int.Parse(Str(service, "deploy", "replicas") ?? Str(service, "scale") ?? "1", CultureInfo.InvariantCulture);

    private static List<ComposeMount> ComposeMounts(YamlNode service)
    {
        var mounts = new List<ComposeMount>();
        if (Get(service, "volumes") is not YamlSequenceNode volumes)
        {
            return mounts;
        }
        foreach (var volume in volumes.Children)
        {
            if (volume is YamlScalarNode shortForm)
            {
                // SOURCE:TARGET[:MODE]; a source that is a path (./, /, ~) is a bind mount.
                var parts = shortForm.Value!.Split(':');
                var isBind = parts[0].StartsWith('.') || parts[0].StartsWith('/') || parts[0].StartsWith('~');
                mounts.Add(parts.Length == 1
                    ? new ComposeMount("volume", null, parts[0], false)
                    : new ComposeMount(isBind ? "bind" : "volume", parts[0], parts[1], parts.Length > 2 && parts[2].Split(',').Contains("ro")));
            }
            else
            {
                mounts.Add(new ComposeMount(Str(volume, "type") ?? "volume", Str(volume, "source"), Str(volume, "target")!,
                    Str(volume, "read_only") == "true"));
            }
        }
        return mounts;
    }

    private static Dictionary<string, string> ComposeEnvironment(YamlNode service)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (Get(service, "environment"))
        {
            case YamlMappingNode map:
                foreach (var (key, value) in map.Children)
                {
                    environment[((YamlScalarNode)key).Value!] = (value as YamlScalarNode)?.Value ?? string.Empty;
                }
                break;
            case YamlSequenceNode list:
                foreach (var item in list.Children.Select(c => ((YamlScalarNode)c).Value!))
                {
                    var equals = item.IndexOf('=', StringComparison.Ordinal);
                    environment[equals < 0 ? item : item[..equals]] = equals < 0 ? string.Empty : item[(equals + 1)..];
                }
                break;
        }
        return environment;
    }

    /// <summary>The container side of a compose port: <c>[IP:][HOST:]CONTAINER[/PROTO]</c> or the long form's <c>target</c>.</summary>
    private static int ComposeContainerPort(YamlNode port) =>
        port is YamlScalarNode s
            ? int.Parse(s.Value!.Split('/')[0].Split(':')[^1], CultureInfo.InvariantCulture)
            : int.Parse(Str(port, "target")!, CultureInfo.InvariantCulture);

    /// <summary>A Go duration as compose writes them (<c>45s</c>, <c>1m30s</c>).</summary>
    private static TimeSpan ParseGoDuration(string text)
    {
        var matches = Regex.Matches(text, @"(\d+(?:\.\d+)?)(ms|h|m|s)");
        Assert.Equal(text, string.Concat(matches.Select(m => m.Value)));
        return matches.Aggregate(TimeSpan.Zero, (sum, m) =>
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            return sum + m.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "s" => TimeSpan.FromSeconds(value),
                _ => TimeSpan.FromMilliseconds(value),
            };
        });
    }

    // Kubernetes

    private static List<YamlNode> KubernetesObjects() =>
        [.. Directory.EnumerateFiles(KubernetesDir, "*.yaml").Order(StringComparer.Ordinal).SelectMany(LoadYaml)];

    private static YamlNode KubernetesObject(string kind) => Assert.Single(KubernetesObjects(), d => Str(d, "kind") == kind);

    private static YamlNode WireContainer(YamlNode deployment)
    {
        var containers = Assert.IsType<YamlSequenceNode>(Get(deployment, "spec", "template", "spec", "containers"));
        return Assert.Single(containers.Children);
    }

    /// <summary>The container's arguments to <c>dotnet wire.dll</c>: its <c>args</c>, or the image's CMD.</summary>
    private static string[] ContainerArgs(YamlNode container)
    {
        Assert.Null(Get(container, "command")); // the image's ENTRYPOINT starts wire.dll
        return Get(container, "args") is YamlSequenceNode args
            ? [.. args.Children.Select(a => ((YamlScalarNode)a).Value!)]
            : Dockerfile.Load().Cmd();
    }

    private static Dictionary<string, int> ContainerPorts(YamlNode container)
    {
        var ports = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var port in Assert.IsType<YamlSequenceNode>(Get(container, "ports")).Children)
        {
            var number = int.Parse(Str(port, "containerPort")!, CultureInfo.InvariantCulture);
            ports[Str(port, "name") ?? number.ToString(CultureInfo.InvariantCulture)] = number;
        }
        return ports;
    }

    /// <summary>A port given by number or by the name of a container port.</summary>
    private static int ResolvePort(Dictionary<string, int> ports, string port) =>
        ParseInt(port) ?? (ports.TryGetValue(port, out var number) ? number : throw new InvalidOperationException($"no container port named {port}"));

    private sealed record VolumeMount(string Volume, string MountPath, bool ReadOnly);

    private static List<VolumeMount> VolumeMounts(YamlNode container) =>
        [.. Assert.IsType<YamlSequenceNode>(Get(container, "volumeMounts")).Children
            .Select(m => new VolumeMount(Str(m, "name")!, Str(m, "mountPath")!, Str(m, "readOnly") == "true"))];

    private static YamlNode Volume(YamlNode deployment, string name) =>
        Assert.Single(Assert.IsType<YamlSequenceNode>(Get(deployment, "spec", "template", "spec", "volumes")).Children, v => Str(v, "name") == name);

    /// <summary>The files of a configMap, secret or projected volume: relative path to (kind, object name, key).</summary>
    private static Dictionary<string, (string Kind, string Name, string Key)> ProjectedFiles(YamlNode deployment, string volumeName)
    {
        var volume = Volume(deployment, volumeName);
        var sources = Get(volume, "projected", "sources") is YamlSequenceNode projected
            ? projected.Children.ToList()
            : [volume];
        var files = new Dictionary<string, (string, string, string)>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            foreach (var (field, kind, nameKey) in new[] { ("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName") })
            {
                if (Get(source, field) is not { } item)
                {
                    continue;
                }
                var name = Str(item, "name") ?? Str(item, nameKey)!;
                if (Get(item, "items") is YamlSequenceNode items)
                {
                    foreach (var entry in items.Children)
                    {
                        files[Str(entry, "path")!] = (kind, name, Str(entry, "key")!);
                    }
                }
                else
                {
                    // Without items every key becomes a file of the same name.
                    var obj = Assert.Single(KubernetesObjects(), d => Str(d, "kind") == kind && Str(d, "metadata", "name") == name);
                    foreach (var key in new[] { "data", "stringData" }.SelectMany(k => ScalarMap(Get(obj, k)).Keys))
                    {
                        files[key] = (kind, name, key);
                    }
                }
            }
        }
        return files;
    }

    private static void AssertSecretKeyExists(string name, string key)
    {
        var secret = KubernetesObjects().SingleOrDefault(d => Str(d, "kind") == "Secret" && Str(d, "metadata", "name") == name);
        Assert.True(secret is not null, $"no Secret {name} in secret.yaml");
        var keys = new[] { "data", "stringData" }.SelectMany(k => ScalarMap(Get(secret, k)).Keys).ToList();
        var hasKey = keys.Contains(key, StringComparer.Ordinal);
        Assert.True(hasKey, $"Secret {name} has no key {key}");
    }
}
