using Wire.Gateway;

// A relay's work per socket read is short (scan, copy, flush), so running socket completions on the
// epoll thread beats hopping to the thread pool for every packet: fewer context switches per query,
// which is most of a proxy's added latency. Set DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 to opt out.
// Must happen before the first socket is created: the runtime reads it once.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

return await WireCommandLine.InvokeAsync(args).ConfigureAwait(false);
