"use strict";
// The Reports page's "Scheduled delivery": list the schedules, add, disable and delete one, through the JSON API.

const WHEN = (iso) => (iso ? iso.replace("T", " ").slice(0, 16) + " UTC" : null);

function scheduleRow(schedule, maySchedule) {
  const tr = document.createElement("tr");
  tr.dataset.schedule = String(schedule.id);
  const state = !schedule.enabled ? "disabled"
    : schedule.last_status === "failed" ? `failed: ${schedule.last_error}`
    : schedule.last_status || "not run yet";
  for (const text of [schedule.id, schedule.report, schedule.format, schedule.when, schedule.recipients.join(", "),
    schedule.folder, schedule.enabled ? WHEN(schedule.next_run_at) : null, WHEN(schedule.last_run_at), state]) {
    tr.appendChild(cell(text === null || text === undefined ? "" : String(text)));
  }
  if (maySchedule) {
    const td = document.createElement("td");
    if (schedule.enabled) {
      const disable = document.createElement("button");
      disable.type = "button";
      disable.textContent = `Disable schedule ${schedule.id}`;
      disable.addEventListener("click", () => change(`/api/reports/schedules/${schedule.id}/disable`, "POST"));
      td.appendChild(disable);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = `Delete schedule ${schedule.id}`;
    remove.addEventListener("click", () => {
      if (window.confirm(`Delete schedule ${schedule.id}?`)) change(`/api/reports/schedules/${schedule.id}`, "DELETE");
    });
    td.appendChild(remove);
    tr.appendChild(td);
  }
  return tr;
}

async function loadSchedules() {
  const section = document.querySelector("[data-schedules]");
  if (!section) return;
  const maySchedule = section.hasAttribute("data-may-schedule");
  const body = section.querySelector("table[data-testid=schedules] tbody");
  try {
    const schedules = await api("/api/reports/schedules");
    body.replaceChildren(...schedules.map((s) => scheduleRow(s, maySchedule)));
    if (!schedules.length) {
      const tr = document.createElement("tr");
      const td = cell("No report is scheduled yet.");
      td.colSpan = maySchedule ? 10 : 9;
      td.className = "muted";
      tr.appendChild(td);
      body.appendChild(tr);
    }
  } catch (error) {
    const tr = document.createElement("tr");
    tr.appendChild(cell(`Could not load the schedules: ${error.message}`));
    body.replaceChildren(tr);
  }
}

async function change(path, method) {
  const result = document.querySelector("[data-testid=schedule-result]");
  try {
    await api(path, { method });
    if (result) result.textContent = "";
  } catch (error) {
    if (result) result.textContent = `Not changed: ${error.message}`;
  }
  await loadSchedules();
}

function showCadenceFields(form) {
  const cadence = form.elements.cadence.value;
  for (const label of form.querySelectorAll("[data-for-cadence]")) {
    label.hidden = label.dataset.forCadence !== cadence;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  loadSchedules();
  const form = document.querySelector("form[data-add-schedule]");
  if (!form) return;
  const result = document.querySelector("[data-testid=schedule-result]");
  form.elements.cadence.addEventListener("change", () => showCadenceFields(form));
  showCadenceFields(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const cadence = data.get("cadence");
    const recipients = String(data.get("recipients") || "").split(/[\s,;]+/).filter(Boolean);
    const body = { report: data.get("report"), format: data.get("format"), cadence,
      at_hour: Number(data.get("at_hour")), recipients, folder: data.get("folder") || null,
      weekday: cadence === "weekly" ? Number(data.get("weekday")) : null,
      day: cadence === "monthly" ? Number(data.get("day")) : null };
    try {
      const made = await api("/api/reports/schedules", { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      result.textContent = `Scheduled: the ${made.report} report (${made.format}) ${made.when}; first run ${WHEN(made.next_run_at)}.`;
      form.reset();
      showCadenceFields(form);
    } catch (error) {
      result.textContent = `Not scheduled: ${error.message}`;
    }
    await loadSchedules();
  });
});
