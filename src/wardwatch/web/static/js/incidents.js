// Incident pages: open an incident from the playbook run shown, record an action on a step, close an incident,
// through /api/incidents.  Uses app.js's api(); no inline script (CSP).
"use strict";

function say(text) {
  const target = document.getElementById("open-status") || document.getElementById("incident-message");
  if (target) target.textContent = text;
}

async function post(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

document.addEventListener("DOMContentLoaded", () => {
  const opener = document.querySelector("form[data-incident-open]");
  opener?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(opener);
    const body = { playbook: opener.dataset.playbook, title: data.get("title") || null };
    for (const key of ["seed", "manufacturer", "recall"]) if (opener.dataset[key]) body[key] = opener.dataset[key];
    say("Opening…");
    try {
      const incident = await post("/api/incidents", body);
      window.location.assign(`/incidents/${incident.id}`);
    } catch (error) {
      say(`Not opened: ${error.message}`);
    }
  });
  for (const form of document.querySelectorAll("form[data-incident-action]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = { step: form.dataset.step || data.get("step"), note: data.get("note") || "",
        done: data.get("done") !== null, contained: data.get("contained") !== null };
      try {
        await post(`/api/incidents/${form.dataset.incident}/actions`, body);
        window.location.reload();
      } catch (error) {
        say(`Not recorded: ${error.message}`);
      }
    });
  }
  const closer = document.querySelector("form[data-incident-close]");
  closer?.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!window.confirm("Close this incident? It takes no more actions after.")) return;
    try {
      await post(`/api/incidents/${closer.dataset.incident}/close`, { note: new FormData(closer).get("note") || "" });
      window.location.reload();
    } catch (error) {
      say(`Not closed: ${error.message}`);
    }
  });
});
