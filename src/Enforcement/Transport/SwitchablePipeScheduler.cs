using System.IO.Pipelines;

namespace Wire.Enforcement.Transport;

/// <summary>
/// Runs a pipe reader's continuations on the thread pool until <see cref="RunInline"/> is called, then
/// on the thread that wrote the data. A connection starts on the pool so a handshake's heavy work (TLS,
/// token validation, login) never holds up the epoll loop; a plain session's relay, whose work per
/// message is a scan and a send, then runs inline on the loop.
/// </summary>
internal sealed class SwitchablePipeScheduler : PipeScheduler
{
    private volatile bool _inline;

    /// <summary>From now on, run continuations where the data arrives.</summary>
    public void RunInline() => _inline = true;

    public override void Schedule(Action<object?> action, object? state)
    {
        if (_inline)
        {
            action(state);
        }
        else
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
        }
    }
}
