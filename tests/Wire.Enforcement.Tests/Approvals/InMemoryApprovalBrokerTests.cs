using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Tests.Approvals;

public sealed class InMemoryApprovalBrokerTests
{
    private static readonly WireIdentity Alice = new("alice", ["eng"], "static-token");
    private static readonly WireIdentity Dan = new("dan", ["dba"], "static-token");
    private static readonly WireIdentity Eve = new("eve", ["eng"], "static-token");

    private static ApprovalRequest NewRequest(TimeSpan? timeout = null, WireIdentity? who = null) => new()
    {
        Id = Guid.NewGuid().ToString("n"),
        Identity = who ?? Alice,
        Protocol = WireProtocol.Postgres,
        Target = "app",
        SessionId = "1",
        Text = "DELETE FROM orders",
        Rule = "unbounded-dml",
        Approvers = ["dba"],
        Timeout = timeout ?? TimeSpan.FromMinutes(1),
    };

    [Fact]
    public async Task An_approver_releases_the_request()
    {
        var broker = new InMemoryApprovalBroker();
        var request = NewRequest();
        var waiting = broker.RequestAsync(request, CancellationToken.None).AsTask();
        Assert.Equal(request.Id, Assert.Single(broker.PendingRequests).Id);
        Assert.Equal(ApprovalResult.Decided, broker.Approve(request.Id, Dan));
        var decision = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ApprovalOutcome.Approved, decision.Outcome);
        Assert.Equal("dan", decision.Approver);
        Assert.Empty(broker.PendingRequests);
        Assert.Equal(ApprovalResult.NotFound, broker.Approve(request.Id, Dan));
    }

    [Fact]
    public async Task Only_approver_groups_decide_and_never_on_their_own_request()
    {
        var broker = new InMemoryApprovalBroker();
        var request = NewRequest(who: Dan);
        var waiting = broker.RequestAsync(request, CancellationToken.None).AsTask();
        Assert.Equal(ApprovalResult.NotAnApprover, broker.Approve(request.Id, Eve));
        Assert.Equal(ApprovalResult.OwnRequest, broker.Approve(request.Id, Dan));
        Assert.False(waiting.IsCompleted);
        var other = new WireIdentity("olga", ["dba"], "oidc");
        Assert.Equal(ApprovalResult.Decided, broker.Deny(request.Id, other, "not now"));
        var decision = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new ApprovalDecision(ApprovalOutcome.Denied, "olga", "not now"), decision);
    }

    [Fact]
    public async Task A_request_times_out()
    {
        var broker = new InMemoryApprovalBroker();
        var decision = await broker.RequestAsync(NewRequest(TimeSpan.FromMilliseconds(50)), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ApprovalOutcome.TimedOut, decision.Outcome);
        Assert.Empty(broker.PendingRequests);
    }

    [Fact]
    public async Task Cancelling_the_wait_reports_cancelled()
    {
        var broker = new InMemoryApprovalBroker();
        using var cts = new CancellationTokenSource();
        ApprovalRequest? seen = null;
        broker.Requested += r => seen = r;
        var waiting = broker.RequestAsync(NewRequest(), cts.Token).AsTask();
        Assert.NotNull(seen);
        await cts.CancelAsync();
        var decision = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ApprovalOutcome.Cancelled, decision.Outcome);
        Assert.Equal(ApprovalResult.NotFound, broker.Approve(seen.Id, Dan));
    }
}
