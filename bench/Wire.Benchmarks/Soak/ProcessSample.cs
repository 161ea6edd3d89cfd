namespace Wire.Benchmarks.Soak;

/// <summary>One look at the gateway process from /proc, and at its client connections.</summary>
/// <param name="Elapsed">Time since the load started (zero for the baseline taken just before).</param>
/// <param name="WorkingSetBytes">VmRSS.</param>
/// <param name="AnonymousBytes">RssAnon: the part of the working set that is heap (managed and native), not mapped files.</param>
/// <param name="OpenFiles">Entries of /proc/PID/fd: sockets, recording files, epoll and event descriptors.</param>
/// <param name="Sockets">The sockets among them.</param>
/// <param name="OpenFilesBesidesSockets">The others: recording files, epoll, event and pipe descriptors, loaded files.</param>
/// <param name="Threads">Threads of the process.</param>
/// <param name="Cpu">User and system CPU time the process has used so far.</param>
/// <param name="ClientConnections">Established TCP connections to the gateway's listening port.</param>
/// <param name="UpstreamConnections">The gateway's open connections to the upstream server, when the sampler was given its port.</param>
/// <param name="UnconnectedSockets">
/// The gateway's sockets in no TCP connection: created with their connect not done yet (queued), or torn down and not
/// closed yet.
/// </param>
/// <param name="UnderLoad">The load generator was still running when the sample was taken.</param>
internal sealed record ProcessSample(
    TimeSpan Elapsed, long WorkingSetBytes, long AnonymousBytes, int OpenFiles, int Sockets, int OpenFilesBesidesSockets, int Threads,
    TimeSpan Cpu, int ClientConnections, int UpstreamConnections, int UnconnectedSockets, bool UnderLoad);
