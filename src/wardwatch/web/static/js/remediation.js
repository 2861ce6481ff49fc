"use strict";
// The remediation pages: create items from findings, take a step, sign off downtime, record a manufacturer's
// validation -- all through the JSON API, which checks the role of every step.

function said(text) {
  const target = document.querySelector("[data-testid=step-result], [data-testid=sync-result]");
  if (target) { target.textContent = text; target.hidden = false; }
}

async function post(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

function showNeeded(form) {
  const chosen = form.querySelector("select[name=to]").selectedOptions[0];
  const needs = chosen ? chosen.dataset.requires : "";
  for (const field of form.querySelectorAll("[data-needs]")) field.hidden = field.dataset.needs !== needs;
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelector("button[data-sync]")?.addEventListener("click", async () => {
    try {
      const report = await post("/api/remediation/sync", {});
      said(`${report.created} new, ${report.updated} updated. Reloading…`);
      window.location.reload();
    } catch (error) { said(`Not done: ${error.message}`); }
  });
  const section = document.querySelector("[data-item]");
  const item = section ? section.dataset.item : null;
  const advance = document.querySelector("form[data-advance]");
  if (advance) {
    showNeeded(advance);
    advance.querySelector("select[name=to]").addEventListener("change", () => showNeeded(advance));
    advance.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(advance);
      const body = { to: data.get("to"), note: data.get("note") || "" };
      const needs = advance.querySelector("select[name=to]").selectedOptions[0].dataset.requires;
      if (needs === "fix") body.fix = data.get("fix") || null;
      if (needs === "schedule" && data.get("scheduled_for")) body.scheduled_for = new Date(data.get("scheduled_for")).toISOString();
      if (needs === "controls") body.controls = data.getAll("controls");
      if (needs === "acceptance") { body.justification = data.get("justification") || null; body.expires_on = data.get("expires_on") || null; }
      try {
        const moved = await post(`/api/remediation/${item}/advance`, body);
        said(`Now ${moved.state}. Reloading…`);
        window.location.reload();
      } catch (error) { said(`Not done: ${error.message}`); }
    });
  }
  const signoff = document.querySelector("form[data-signoff]");
  signoff?.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post(`/api/remediation/${item}/sign-off`, { note: new FormData(signoff).get("note") });
      said("Signed off. Reloading…");
      window.location.reload();
    } catch (error) { said(`Not done: ${error.message}`); }
  });
  const validation = document.querySelector("form[data-validation]");
  validation?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(validation);
    try {
      await post("/api/remediation/validations", { manufacturer: validation.dataset.manufacturer,
        model: validation.dataset.model, fix: data.get("fix"), status: data.get("status"), document: data.get("document") });
      said("Recorded. Reloading…");
      window.location.reload();
    } catch (error) { said(`Not recorded: ${error.message}`); }
  });
});
