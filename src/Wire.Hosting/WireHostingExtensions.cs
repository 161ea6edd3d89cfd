using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Masking;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Sessions;
using Wire.Hosting;
using Wire.Hosting.Configuration;
using Wire.Http.Proxy;
using Wire.Postgres.Proxy;
using Wire.Ssh.Proxy;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Wire's listeners to a .NET host: <c>services.AddWire(configuration).AddPostgres().AddHttp().AddSsh()</c>.</summary>
public static class WireHostingExtensions
{
    /// <summary>
    /// Adds Wire's enforcement (identity, rules, approvals, recording) read from <paramref name="configuration"/>, whose keys
    /// are those of the gateway's config file (docs/configuration.md), and a hosted service that runs the listeners added
    /// with <see cref="AddPostgres"/>, <see cref="AddHttp"/> and <see cref="AddSsh"/>. The configuration is validated when
    /// the host starts. Relative paths resolve against the host's content root. When the configuration reloads (a JSON file
    /// with <c>reloadOnChange</c>, for example), <c>identity</c> and <c>rules</c> take effect as <c>wire run</c>'s do; an
    /// invalid change is logged and the running ones stay.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The section that stands for the config file's root object, e.g. <c>configuration.GetSection("Wire")</c>.</param>
    /// <returns>A builder to add listeners with.</returns>
    public static IWireBuilder AddWire(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<WireOptions>()
            .Configure<IServiceProvider>((options, provider) => Load(options, configuration, provider))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WireOptions>, WireOptionsValidator>());
        services.TryAddSingleton<InMemoryApprovalBroker>();
        services.TryAddSingleton<SessionRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WireHostedService>());
        return new WireBuilder(services);
    }

    /// <summary>Runs the PostgreSQL listener of the configuration's <c>postgres</c> section.</summary>
    /// <param name="builder">The builder <see cref="AddWire"/> returned.</param>
    /// <param name="configure">Changes the options read (for example the listen address) before the listener starts.</param>
    public static IWireBuilder AddPostgres(this IWireBuilder builder, Action<PgProxyOptions>? configure = null) =>
        AddProtocol(builder, WireOptions.PostgresSection, configure is null ? null : options => configure(options.Postgres!));

    /// <summary>Runs the HTTP listener of the configuration's <c>http</c> section.</summary>
    /// <param name="builder">The builder <see cref="AddWire"/> returned.</param>
    /// <param name="configure">Changes the options read before the listener starts.</param>
    public static IWireBuilder AddHttp(this IWireBuilder builder, Action<HttpProxyOptions>? configure = null) =>
        AddProtocol(builder, WireOptions.HttpSection, configure is null ? null : options => configure(options.Http!));

    /// <summary>Runs the SSH listener of the configuration's <c>ssh</c> section.</summary>
    /// <param name="builder">The builder <see cref="AddWire"/> returned.</param>
    /// <param name="configure">Changes the options read before the listener starts.</param>
    public static IWireBuilder AddSsh(this IWireBuilder builder, Action<SshProxyOptions>? configure = null) =>
        AddProtocol(builder, WireOptions.SshSection, configure is null ? null : options => configure(options.Ssh!));

    /// <summary>
    /// Sends reviews to <typeparamref name="TBroker"/> as well (registered with <c>TryAddEnumerable</c>, so once): every
    /// broker is asked, the first approval or denial decides. The built-in in-memory broker stays.
    /// </summary>
    /// <typeparam name="TBroker">The broker, a singleton built by the container.</typeparam>
    /// <param name="builder">The builder <see cref="AddWire"/> returned.</param>
    public static IWireBuilder AddApprovalBroker<TBroker>(this IWireBuilder builder)
        where TBroker : class, IApprovalBroker => Plug<IApprovalBroker, TBroker>(builder);

    /// <summary>
    /// Judges every execution with <typeparamref name="TRule"/> as well, a rule written in code (registered with
    /// <c>TryAddEnumerable</c>, so once): it denies, asks for review or allows beside the configuration's rules.
    /// </summary>
    /// <typeparam name="TRule">The rule, a singleton built by the container.</typeparam>
    /// <param name="builder">The builder <see cref="AddWire"/> returned.</param>
    public static IWireBuilder AddRule<TRule>(this IWireBuilder builder)
        where TRule : class, IAccessRule => Plug<IAccessRule, TRule>(builder);

    /// <summary>
    /// Records every session with <typeparamref name="TRecorder"/> as well (registered with <c>TryAddEnumerable</c>, so
    /// once), beside the configuration's <c>recording</c>.
    /// </summary>
    /// <typeparam name="TRecorder">The recorder factory, a singleton built by the container.</typeparam>
    /// <param name="builder">The builder <see cref="AddWire"/> returned.</param>
    public static IWireBuilder AddRecorder<TRecorder>(this IWireBuilder builder)
        where TRecorder : class, ISessionRecorderFactory => Plug<ISessionRecorderFactory, TRecorder>(builder);

    /// <summary>
    /// Adds <typeparamref name="TDetector"/>, a content detector written in code (registered with <c>TryAddEnumerable</c>,
    /// so once): mask rules name it in <c>detectors</c> by its <see cref="IContentDetector.Name"/>, and it then runs
    /// wherever the built-in detectors do. A rule that names a detector no host added stops the start, as an unknown
    /// built-in name does.
    /// </summary>
    /// <typeparam name="TDetector">The detector, a singleton built by the container.</typeparam>
    /// <param name="builder">The builder <see cref="AddWire"/> returned.</param>
    public static IWireBuilder AddDetector<TDetector>(this IWireBuilder builder)
        where TDetector : class, IContentDetector => Plug<IContentDetector, TDetector>(builder);

    /// <summary>
    /// Adds <typeparamref name="TMasker"/>, a mask style written in code (registered with <c>TryAddEnumerable</c>, so
    /// once): mask rules name it as their <c>style</c> by its <see cref="IMasker.Name"/>. A value it breaks or throws on
    /// is masked with <c>full</c> instead (see <see cref="IMasker"/>).
    /// </summary>
    /// <typeparam name="TMasker">The masker, a singleton built by the container.</typeparam>
    /// <param name="builder">The builder <see cref="AddWire"/> returned.</param>
    public static IWireBuilder AddMasker<TMasker>(this IWireBuilder builder)
        where TMasker : class, IMasker => Plug<IMasker, TMasker>(builder);

    /// <summary>A host's own piece, one singleton per implementation however often it is added.</summary>
    private static IWireBuilder Plug<TService, TImplementation>(IWireBuilder builder)
        where TService : class
        where TImplementation : class, TService
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<TService, TImplementation>());
        return builder;
    }

    private static IWireBuilder AddProtocol(IWireBuilder builder, string section, Action<WireOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<WireOptions>(options => options.Protocols.Add(section));
        if (configure is not null)
        {
            // Runs after the configuration was read; a section that failed to read is reported by validation instead.
            builder.Services.PostConfigure<WireOptions>(options =>
            {
                if (options.Error is null && options.Config is not null && options.Protocols.Contains(section) && HasSection(options, section))
                {
                    configure(options);
                }
            });
        }
        return builder;
    }

    private static bool HasSection(WireOptions options, string section) => section switch
    {
        WireOptions.PostgresSection => options.Config!.Postgres is not null,
        WireOptions.HttpSection => options.Config!.Http is not null,
        _ => options.Config!.Ssh is not null,
    };

    private static void Load(WireOptions options, IConfiguration configuration, IServiceProvider provider)
    {
        var root = provider.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory();
        CustomMasking masking;
        try
        {
            // The host's detectors and styles are checked first: the rules are validated against their names.
            masking = new CustomMasking(provider.GetServices<IContentDetector>(), provider.GetServices<IMasker>(),
                provider.GetService<ILoggerFactory>()?.CreateLogger("Wire.Masking"));
        }
        catch (ArgumentException ex)
        {
            options.Error = ex.Message;
            return;
        }
        options.Masking = masking;
        options.Source = (configuration, root);
        try
        {
            options.Config = GatewayConfig.FromConfiguration(configuration, root, masking: masking);
        }
        catch (ConfigException ex)
        {
            options.Error = ex.Message;
        }
    }

    private sealed class WireBuilder(IServiceCollection services) : IWireBuilder
    {
        public IServiceCollection Services { get; } = services;
    }

    private sealed class WireOptionsValidator : IValidateOptions<WireOptions>
    {
        public ValidateOptionsResult Validate(string? name, WireOptions options)
        {
            if (options.Error is not null)
            {
                return ValidateOptionsResult.Fail($"Wire: {options.Error}");
            }
            var failures = new List<string>();
            foreach (var section in options.Protocols)
            {
                if (!HasSection(options, section))
                {
                    failures.Add($"Wire: {section}: required (a listener for it was added)");
                }
            }
            if (options.Config!.AdminListen is not null)
            {
                failures.Add("Wire: admin: the admin API runs in the wire gateway only; an embedding host serves its own");
            }
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
