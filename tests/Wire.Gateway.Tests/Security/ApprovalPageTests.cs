using Wire.Gateway.Admin;

namespace Wire.Gateway.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md): the approval page inserts everything the server sends as text. The page is
/// one constant document; its script never parses a string as HTML or code, and loads nothing from elsewhere. (The
/// browser test, Wire.Postgres.Tests' ApprovalPageBrowserTests, shows markup in a statement rendered as text.)
/// </summary>
public sealed class ApprovalPageTests
{
    [Theory]
    [InlineData("innerHTML")]
    [InlineData("outerHTML")]
    [InlineData("insertAdjacentHTML")]
    [InlineData("document.write")]
    [InlineData("eval(")]
    [InlineData("new Function")]
    [InlineData("setTimeout(\"")]
    [InlineData("createContextualFragment")]
    [InlineData("DOMParser")]
    [InlineData("src=\"http")]
    [InlineData("href=\"http")]
    public void The_page_never_turns_server_text_into_markup_or_code(string sink) =>
        Assert.DoesNotContain(sink, ApprovalPage.Html, StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void The_page_inserts_text_with_textContent() =>
        Assert.Contains(".textContent = ", ApprovalPage.Html, StringComparison.Ordinal);
}
