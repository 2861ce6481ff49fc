// Risk pages: the what-if form (before/after tables) and risk acceptances (accept, revoke).  Uses app.js's api().
"use strict";

function whatIf(form) {
  const status = document.getElementById("wi-status");
  const result = document.getElementById("wi-result");
  const kind = form.elements.kind;
  const showFields = () => {
    for (const field of form.querySelectorAll("[data-for]")) field.hidden = field.dataset.for !== kind.value;
  };
  kind.addEventListener("change", showFields);
  showFields();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const by = data.get("by");
    const raw = String(data.get("value")).trim();
    const body = {};
    body[by] = by === "device" || by === "vlan" ? Number.parseInt(raw, 10) : raw;
    if (kind.value === "patch") body.version = String(data.get("version") || "latest");
    if (kind.value === "control") body.name = String(data.get("control"));
    if (kind.value === "fix") body.vulnerability = String(data.get("vulnerability"));
    const change = {};
    change[kind.value] = body;
    status.textContent = "Simulating…";
    result.hidden = true;
    try {
      const sim = await api("/api/risk/simulate", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: "What-if", changes: [change] }),
      });
      const overall = document.querySelector("[data-testid=what-if-overall] tbody");
      overall.replaceChildren();
      const b = sim.overall.before, a = sim.overall.after;
      const levels = (x) => Object.entries(x).map(([k, v]) => k + " " + v).join(", ");
      for (const [label, before, after] of [
        ["Mean score", b.mean_score, a.mean_score], ["Highest score", b.max_score, a.max_score],
        ["Devices by level", levels(b.levels), levels(a.levels)],
        ["Devices by SSVC priority", levels(b.priorities), levels(a.priorities)]]) {
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = label;
        tr.append(th, cell(String(before)), cell(String(after)));
        overall.appendChild(tr);
      }
      const devices = document.querySelector("[data-testid=what-if-devices] tbody");
      devices.replaceChildren();
      for (const d of sim.devices.slice(0, 100)) {
        const tr = document.createElement("tr");
        tr.append(cell(d.device.name || "device " + d.device.id, "/devices/" + d.device.id),
          cell(String(d.before.score)), cell(String(d.after.score)), cell(String(d.score_change)),
          cell(d.before.ssvc), cell(d.after.ssvc));
        devices.appendChild(tr);
      }
      if (!sim.devices.length) {
        const tr = document.createElement("tr");
        const td = cell("No device's risk changes.");
        td.colSpan = 6;
        tr.appendChild(td);
        devices.appendChild(tr);
      }
      const n = sim.devices.length;
      status.textContent = (sim.changes.join("; ") || "No change") + " — " + n + " device" + (n === 1 ? "" : "s") +
        " change" + (n === 1 ? "s" : "") + "; nothing was stored.";
      result.hidden = false;
    } catch (error) {
      status.textContent = "Cannot simulate: " + error.message;
    }
  });
}

function acceptances(form) {
  const status = document.getElementById("ac-status");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = {
        device: String(data.get("device")).trim(), justification: String(data.get("justification")),
        expires_on: String(data.get("expires_on")), controls: data.getAll("controls").map(String),
        vulnerability: String(data.get("vulnerability") || "").trim() || null,
      };
      try {
        await api("/api/risk/acceptances", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
        });
        location.reload();
      } catch (error) {
        status.textContent = "Not accepted: " + error.message;
      }
    });
  }
  for (const button of document.querySelectorAll("button[data-revoke]")) {
    button.addEventListener("click", async () => {
      try {
        await api("/api/risk/acceptances/" + button.dataset.revoke + "/revoke", { method: "POST" });
        location.reload();
      } catch (error) {
        if (status) status.textContent = "Not revoked: " + error.message;
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-what-if]");
  if (form) whatIf(form);
  if (document.querySelector("[data-testid=acceptances]")) acceptances(document.querySelector("form[data-accept]"));
});
