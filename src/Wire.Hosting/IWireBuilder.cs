namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Wire's listeners and extension points to a host's services; returned by <c>AddWire</c>.</summary>
public interface IWireBuilder
{
    /// <summary>The host's services.</summary>
    IServiceCollection Services { get; }
}
