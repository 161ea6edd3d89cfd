namespace Wire.Gateway.Admin;

/// <summary>
/// The approval page: one self-contained HTML document (no external scripts, styles or fonts, so it works offline and
/// under a strict CSP). A reviewer pastes a token; the page polls <c>/api/approvals</c> and <c>/api/grants</c> every
/// second and shows each pending request with Approve and Deny buttons, and each pending or active grant with Approve,
/// Deny or Revoke; a form asks for a grant. Everything from the server is inserted as text, never as HTML.
/// </summary>
internal static class ApprovalPage
{
    public const string Html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Wire approvals</title>
        <style>
          body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
          h1 { font-size: 1.4rem; }
          #login, #status { margin-bottom: 1rem; }
          input[type=password] { width: 28rem; }
          table { border-collapse: collapse; width: 100%; }
          th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
          td.text { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
          button { margin-right: .3rem; }
          .muted { color: #777; }
          h2 { font-size: 1.1rem; margin-top: 2rem; }
          #ask input { margin-right: .5rem; }
        </style>
        </head>
        <body>
        <h1>Wire: requests waiting for review</h1>
        <form id="login">
          <label>Reviewer token <input id="token" type="password" autocomplete="off"></label>
          <button id="signin" type="submit">Sign in</button>
        </form>
        <div id="status" class="muted"></div>
        <table id="pending" hidden>
          <thead><tr><th>Identity</th><th>Target</th><th>Command</th><th>Rule</th><th>Expires</th><th></th></tr></thead>
          <tbody></tbody>
        </table>
        <h2>Access grants</h2>
        <form id="ask">
          <input id="grant-target" placeholder="target" aria-label="target" size="16">
          <input id="grant-duration" placeholder="hh:mm:ss" aria-label="duration" size="8" value="01:00:00">
          <input id="grant-reason" placeholder="why" aria-label="reason" size="40">
          <button id="ask-grant" type="submit">Ask for access</button>
        </form>
        <div id="grant-status" class="muted"></div>
        <table id="grants" hidden>
          <thead><tr><th>Identity</th><th>Target</th><th>Duration</th><th>Reason</th><th>Status</th><th>Expires</th><th></th></tr></thead>
          <tbody></tbody>
        </table>
        <script>
        "use strict";
        const state = { token: sessionStorage.getItem("wire-token") || "", notice: "", grantNotice: "" };
        const status = document.getElementById("status");
        const table = document.getElementById("pending");
        const body = table.querySelector("tbody");

        function cell(row, text, css) {
          const td = document.createElement("td");
          td.textContent = text;
          if (css) td.className = css;
          row.appendChild(td);
          return td;
        }

        async function api(method, path, json) {
          const headers = { Authorization: "Bearer " + state.token };
          if (json !== undefined) headers["Content-Type"] = "application/json";
          const response = await fetch(path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
          if (response.status === 401) { status.textContent = "The token was not accepted."; table.hidden = true; throw new Error("401"); }
          return response;
        }

        async function decide(id, action) {
          const response = await api("POST", "/api/approvals/" + encodeURIComponent(id) + "/" + action);
          const result = await response.json();
          state.notice = response.ok ? ("Last decision: " + result.outcome + " (" + id + ").") : (result.detail || ("HTTP " + response.status));
          await refresh();
        }

        async function refresh() {
          if (!state.token) { status.textContent = "Paste a reviewer token to see pending requests."; return; }
          let requests;
          try { requests = await (await api("GET", "/api/approvals")).json(); } catch { return; }
          body.replaceChildren();
          for (const r of requests) {
            const row = document.createElement("tr");
            row.dataset.id = r.id;
            cell(row, r.subject + " (" + r.protocol + ")");
            cell(row, r.target);
            cell(row, r.text, "text");
            cell(row, r.rule);
            cell(row, new Date(r.expiresAt).toLocaleTimeString());
            const actions = cell(row, "");
            for (const [label, action] of [["Approve", "approve"], ["Deny", "deny"]]) {
              const button = document.createElement("button");
              button.type = "button";
              button.textContent = label;
              button.dataset.action = action;
              button.disabled = !r.mayDecide;
              button.addEventListener("click", () => decide(r.id, action));
              actions.appendChild(button);
            }
            body.appendChild(row);
          }
          table.hidden = requests.length === 0;
          status.textContent = (state.notice ? state.notice + " " : "")
            + (requests.length === 0 ? "Nothing is waiting for review." : requests.length + " waiting.");
          await refreshGrants();
        }

        const grantStatus = document.getElementById("grant-status");
        const grantTable = document.getElementById("grants");
        const grantBody = grantTable.querySelector("tbody");

        async function grantAction(id, action) {
          const path = "/api/grants/" + encodeURIComponent(id) + (action === "revoke" ? "" : "/" + action);
          const response = await api(action === "revoke" ? "DELETE" : "POST", path);
          const result = await response.json();
          state.grantNotice = response.ok ? ("Grant " + id + " is " + result.status + ".") : (result.detail || ("HTTP " + response.status));
          await refresh();
        }

        async function refreshGrants() {
          let grants;
          try { grants = await (await api("GET", "/api/grants")).json(); } catch { return; }
          grants = grants.filter(g => g.status === "pending" || g.status === "active");
          grantBody.replaceChildren();
          for (const g of grants) {
            const row = document.createElement("tr");
            row.dataset.id = g.id;
            cell(row, g.subject);
            cell(row, g.target);
            cell(row, g.duration);
            cell(row, g.reason, "text");
            cell(row, g.status);
            cell(row, g.expiresAt ? new Date(g.expiresAt).toLocaleTimeString() : "");
            const actions = cell(row, "");
            const choices = g.status === "pending" ? [["Approve", "approve", g.mayDecide], ["Deny", "deny", g.mayDecide]] : [];
            choices.push([g.status === "pending" ? "Withdraw" : "Revoke", "revoke", g.mayRevoke]);
            for (const [label, action, allowed] of choices) {
              const button = document.createElement("button");
              button.type = "button";
              button.textContent = label;
              button.dataset.action = action;
              button.disabled = !allowed;
              button.addEventListener("click", () => grantAction(g.id, action));
              actions.appendChild(button);
            }
            grantBody.appendChild(row);
          }
          grantTable.hidden = grants.length === 0;
          grantStatus.textContent = (state.grantNotice ? state.grantNotice + " " : "")
            + (grants.length === 0 ? "No grant is pending or active." : grants.length + " pending or active.");
        }

        document.getElementById("ask").addEventListener("submit", async event => {
          event.preventDefault();
          if (!state.token) return;
          const response = await api("POST", "/api/grants", {
            target: document.getElementById("grant-target").value.trim(),
            duration: document.getElementById("grant-duration").value.trim(),
            reason: document.getElementById("grant-reason").value.trim(),
          });
          const result = await response.json();
          state.grantNotice = response.ok ? ("Asked: grant " + result.id + " is pending.") : (result.detail || ("HTTP " + response.status));
          await refresh();
        });

        document.getElementById("login").addEventListener("submit", async event => {
          event.preventDefault();
          state.token = document.getElementById("token").value.trim();
          sessionStorage.setItem("wire-token", state.token);
          await refresh();
        });
        setInterval(refresh, 1000);
        refresh();
        </script>
        </body>
        </html>
        """;
}
