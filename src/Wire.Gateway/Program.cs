using Wire.Gateway;

return await WireCommandLine.InvokeAsync(args).ConfigureAwait(false);
