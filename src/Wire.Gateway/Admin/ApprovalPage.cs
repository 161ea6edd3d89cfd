namespace Wire.Gateway.Admin;

/// <summary>
/// The approval page: one self-contained HTML document (no external scripts, styles or fonts, so it works offline and
/// under a strict CSP). A reviewer pastes a token; the page polls <c>/api/approvals</c> every second and shows each
/// pending request with Approve and Deny buttons. Everything from the server is inserted as text, never as HTML.
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
        <script>
        "use strict";
        const state = { token: sessionStorage.getItem("wire-token") || "", notice: "" };
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

        async function api(method, path) {
          const response = await fetch(path, { method, headers: { Authorization: "Bearer " + state.token } });
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
        }

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
