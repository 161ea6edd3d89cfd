using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Wire.Sample.Host;

// The whole gateway: Wire's listeners from the "Wire" section of appsettings.json, environment variables
// (Wire__postgres__listen=...) or the command line, checked when the host starts.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddWire(builder.Configuration.GetSection("Wire"))
    .AddPostgres()
    .AddRule<ReplicaIsReadOnly>()
    .AddDetector<EmployeeIdDetector>()
    .AddMasker<KeepPrefixMasker>()
    .AddApprovalBroker<SlackLikeApprovalBroker>()
    .AddRecorder<ConsoleRecorderFactory>();
await builder.Build().RunAsync();
