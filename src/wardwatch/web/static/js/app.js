// Wardwatch UI helpers: CSRF header, live device search, uploads with job progress.  No framework, no CDN.
"use strict";

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)ww_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function api(path, options = {}) {
  const init = Object.assign({ credentials: "same-origin", headers: {} }, options);
  if (init.method && init.method !== "GET") init.headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(path, init);
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((body && (body.detail || body.title)) || response.statusText);
  return body;
}

function cell(text, href) {
  const td = document.createElement("td");
  if (href) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    td.appendChild(a);
  } else if (text === null || text === undefined || text === "") {
    const dash = document.createElement("span");
    dash.className = "muted";
    dash.textContent = "–";
    td.appendChild(dash);
  } else {
    td.textContent = text;
  }
  return td;
}

function liveSearch(form) {
  const table = document.getElementById("device-table");
  const count = document.getElementById("device-count");
  const pager = document.getElementById("pager");
  let timer = null;
  let sequence = 0;
  const run = async () => {
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params]) if (!value) params.delete(key);
    history.replaceState(null, "", "/devices" + (params.toString() ? "?" + params : ""));
    params.set("limit", "50");
    const mine = ++sequence;
    table.setAttribute("aria-busy", "true");
    try {
      const page = await api("/api/devices?" + params);
      if (mine !== sequence) return;
      const body = table.tBodies[0];
      body.replaceChildren();
      for (const d of page.items) {
        const tr = document.createElement("tr");
        tr.append(cell(d.asset_tag || "device " + d.id, "/devices/" + d.id), cell(d.manufacturer), cell(d.model),
          cell(d.device_type), cell(d.criticality || "unknown"),
          cell(d.risk_score === null || d.risk_score === undefined ? null : String(Math.round(d.risk_score))),
          cell(String(d.kev || 0)), cell(d.site), cell(d.department), cell(d.ip), cell(d.hostname));
        for (const td of tr.children) if (td.textContent) td.title = td.textContent;
        body.appendChild(tr);
      }
      if (!page.items.length) {
        const tr = document.createElement("tr");
        const td = cell("No device matches.");
        td.colSpan = 11;
        tr.appendChild(td);
        body.appendChild(tr);
      }
      const plural = page.total === 1 && !page.total_capped ? " device" : " devices";
      count.textContent = page.total.toLocaleString() + (page.total_capped ? "+" : "") + plural;
      if (pager) pager.hidden = true;
      table.dataset.query = params.get("q") || "";
    } catch (error) {
      count.textContent = "Search failed: " + error.message;
    } finally {
      if (mine === sequence) table.removeAttribute("aria-busy");
    }
  };
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 200); });
}

function words(key) {
  return key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

function brief(value, depth = 0) {
  // A value of a job report in a few words: numbers, short lists, "key value" pairs; never braces.
  if (value === null || value === undefined) return "–";
  if (Array.isArray(value)) {
    if (!value.length) return "none";
    if (depth > 0 || typeof value[0] === "object") return value.length.toLocaleString();
    return value.slice(0, 5).map(String).join(", ") + (value.length > 5 ? " … (" + value.length + ")" : "");
  }
  if (typeof value === "object") {
    if (depth > 0) return Object.keys(value).length.toLocaleString();
    return Object.entries(value).map(([k, v]) => words(k).toLowerCase() + " " + brief(v, depth + 1)).join(", ");
  }
  return typeof value === "number" ? value.toLocaleString() : String(value);
}

function showResult(list, result) {
  // A job's report as a short list of figures (nested parts summarised), never raw JSON.
  list.replaceChildren();
  for (const [key, value] of Object.entries(result)) {
    if (value === null || value === undefined || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = words(key);
    const dd = document.createElement("dd");
    dd.textContent = brief(value);
    list.append(dt, dd);
  }
}

function refreshJobs(table) {
  // The recent-jobs table follows the jobs of everyone it shows while the page is open; the filter picks a status
  // ("Failed jobs": the dead letters, with their attempts and last error).
  const filter = document.getElementById("job-filter");
  const tick = async () => {
    if (document.hidden) return;
    try {
      const only = filter && filter.value ? "&status=" + encodeURIComponent(filter.value) : "";
      const page = await api("/api/jobs?limit=20" + only);
      const body = table.tBodies[0];
      body.replaceChildren();
      for (const j of page.items) {
        const tr = document.createElement("tr");
        const status = document.createElement("td");
        const pill = document.createElement("span");
        pill.className = "pill status-" + j.status;
        pill.textContent = j.status;
        status.appendChild(pill);
        const when = new Date(j.created_at);
        tr.append(cell(String(j.id)), cell(j.kind), cell(j.file), status, cell(String(j.attempts)), cell(j.message),
          cell(j.created_by),
          cell(when.toISOString().slice(0, 16).replace("T", " ")));
        body.appendChild(tr);
      }
      const none = document.getElementById("no-jobs");
      if (none) none.hidden = page.items.length > 0;
    } catch (error) {
      // keep the last table; the next tick tries again
    }
  };
  if (filter) filter.addEventListener("change", tick);
  setInterval(tick, 3000);
}

function uploads(form) {
  const box = document.getElementById("job-status");
  const siteField = form.querySelector("[data-cmms-only]");
  const modelField = form.querySelector("[data-intel-only]");
  const showSite = () => {
    siteField.hidden = form.elements.kind.value !== "cmms";
    if (modelField) modelField.hidden = form.elements.kind.value !== "intel";
  };
  form.elements.kind.addEventListener("change", showSite);
  showSite();
  const state = document.getElementById("job-state");
  const bar = document.getElementById("job-progress");
  const message = document.getElementById("job-message");
  const result = document.getElementById("job-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const kind = data.get("kind");
    data.delete("kind");
    if (!data.get("site") || kind !== "cmms") data.delete("site");
    if (!data.get("model") || kind !== "intel") data.delete("model");
    box.hidden = false;
    result.hidden = true;
    bar.classList.remove("failed");
    state.textContent = "uploading";
    message.textContent = "";
    try {
      let job = await api("/api/uploads/" + encodeURIComponent(kind), { method: "POST", body: data });
      document.getElementById("job-title").textContent = "Job " + job.id;
      while (job.status === "queued" || job.status === "running") {  // cancelled and failed are final too
        state.textContent = job.status;
        bar.value = job.progress;
        message.textContent = job.message || "";
        await new Promise((resolve) => setTimeout(resolve, 700));
        job = await api("/api/jobs/" + job.id);
      }
      state.textContent = job.status;
      bar.value = job.status === "succeeded" || job.status === "failed" || job.status === "cancelled" ? 1 : job.progress;
      if (job.status === "failed" || job.status === "cancelled") bar.classList.add("failed");
      message.textContent = job.message || "";
      if (job.result) {
        showResult(result, job.result);
        result.hidden = false;
      }
    } catch (error) {
      bar.classList.add("failed");
      state.textContent = "refused";
      message.textContent = error.message;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const search = document.querySelector("form[data-live-search]");
  if (search) liveSearch(search);
  const upload = document.querySelector("form[data-upload]");
  if (upload) uploads(upload);
  const jobList = document.getElementById("job-list");
  if (jobList) refreshJobs(jobList);
});
