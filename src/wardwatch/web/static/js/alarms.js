// Clinical alarms page: the alarm topology drawn as an SVG graph layered by node kind (sources -> APs/DECT ->
// switches/controllers -> servers/gateways -> recipients), a result's nominal and worst-case routes highlighted with
// its failed elements crossed out, and the forms (verify, propose and approve budgets, uploads) sent to /api/alarms.
// Plain DOM and SVG, no library; colours are SVG attributes (the CSP forbids inline styles).  Uses app.js's api().
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const LAYER_OF = {
  source: 0,
  ap: 1, "dect-base": 1, gateway: 1,
  switch: 2, wlc: 2, router: 2, firewall: 2, other: 2,
  "alarm-server": 3, middleware: 3, server: 3, paging: 3, "nurse-call": 3,
  phone: 4, pager: 4, "central-station": 4,
};
const LAYER_NAMES = ["Alarm sources", "Access points, DECT", "Switches, controllers", "Servers, gateways", "Recipients"];
const LAYER_COLOURS = ["#7a3e9d", "#00838f", "#5d6b7a", "#0b5c7a", "#1b7a3a"];
const COLUMN_W = 220, ROW_H = 66, TOP = 58, LEFT = 100;
const LINK_COLOUR = "#9fb3c8", NOMINAL = "#1d4ed8", WORST = "#d92d20", FAILED = "#1c2530";
const WIRELESS = new Set(["wifi", "dect", "cellular"]);

function el(tag, attributes, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function titled(node, text) {
  el("title", {}, node).textContent = text;
  return node;
}

function short(text, size) {
  return text.length > size ? text.slice(0, size - 1) + "…" : text;
}

function seconds(value) {
  return value === null || value === undefined ? "no route" : value.toFixed(1) + " s";
}

// ----------------------------------------------------------------------------------------------------- layout

function layout(topology) {
  const columns = LAYER_NAMES.map(() => []);
  for (const node of topology.nodes) columns[LAYER_OF[node.kind] ?? 2].push(node);
  const neighbours = {};
  for (const link of topology.links) {
    (neighbours[link.a] = neighbours[link.a] || []).push(link.b);
    (neighbours[link.b] = neighbours[link.b] || []).push(link.a);
  }
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const position = {};
  const byName = (a, b) => (a.unit || "").localeCompare(b.unit || "") || a.label.localeCompare(b.label);
  columns.forEach((nodes, column) => {
    // Each column in the order of its neighbours already placed (fewer crossings), else by unit and name.
    const centre = (node) => {
      const ys = (neighbours[node.id] || []).filter((id) => position[id]).map((id) => position[id].y);
      return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : Infinity;
    };
    const keyed = nodes.map((node) => [centre(node), node]);
    keyed.sort((a, b) => (a[0] === b[0] ? byName(a[1], b[1]) : a[0] - b[0]));
    const offset = ((tallest - nodes.length) * ROW_H) / 2;
    keyed.forEach(([, node], i) => { position[node.id] = { x: LEFT + column * COLUMN_W, y: TOP + offset + i * ROW_H, column }; });
  });
  return { position, width: LEFT * 2 + (LAYER_NAMES.length - 1) * COLUMN_W, height: TOP + tallest * ROW_H };
}

function linkPath(a, b) {
  if (a.column === b.column) {  // within a layer: bow out to the right
    const bow = 40 + Math.abs(b.y - a.y) / 4;
    return `M ${a.x} ${a.y} Q ${a.x + bow} ${(a.y + b.y) / 2} ${b.x} ${b.y}`;
  }
  const middle = (a.x + b.x) / 2;
  return `M ${a.x} ${a.y} C ${middle} ${a.y}, ${middle} ${b.y}, ${b.x} ${b.y}`;
}

function draw(svg, topology) {
  const { position, width, height } = layout(topology);
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  LAYER_NAMES.forEach((name, column) => {
    el("text", { x: LEFT + column * COLUMN_W, y: 22, "text-anchor": "middle", "font-size": 12, "font-weight": 600, fill: "#5b6776" }, svg).textContent = name;
  });
  const labels = Object.fromEntries(topology.nodes.map((n) => [n.id, n.label]));
  const links = el("g", { "data-layer": "links" }, svg);
  for (const link of topology.links) {
    const dash = WIRELESS.has(link.medium) ? "5 4" : "none";
    const path = el("path", {
      d: linkPath(position[link.a], position[link.b]), fill: "none", stroke: LINK_COLOUR, "stroke-width": 2,
      "stroke-dasharray": dash, "data-link": link.id, "data-dash": dash,
    }, links);
    titled(path, `${labels[link.a]} – ${labels[link.b]} (${link.medium}, up to ${link.latency.max_s} s)`);
  }
  const nodes = el("g", { "data-layer": "nodes" }, svg);
  for (const node of topology.nodes) {
    const p = position[node.id];
    const group = el("g", { "data-node": node.id, "data-kind": node.kind, transform: `translate(${p.x} ${p.y})` }, nodes);
    el("circle", { r: 13, fill: LAYER_COLOURS[p.column], stroke: "#ffffff", "stroke-width": 2 }, group);
    el("text", { y: 28, "text-anchor": "middle", "font-size": 11, fill: "#1c2530" }, group).textContent = short(node.label, 26);
    titled(group, `${node.label} (${node.kind}${node.unit ? ", " + node.unit : ""})`);
  }
  el("g", { "data-layer": "marks" }, svg);
  return position;
}

// ------------------------------------------------------------------------------------------------- highlight

function graphView(svg, topology) {
  const position = draw(svg, topology);
  const caption = document.getElementById("graph-caption");
  const members = Object.fromEntries(topology.groups.map((g) => [g.id, g.members]));
  const labels = Object.fromEntries(topology.nodes.map((n) => [n.id, n.label]));
  const marks = svg.querySelector("[data-layer=marks]");
  const linksLayer = svg.querySelector("[data-layer=links]");
  const link = (id) => svg.querySelector(`[data-link="${CSS.escape(id)}"]`);
  const node = (id) => svg.querySelector(`[data-node="${CSS.escape(id)}"]`);

  const reset = () => {
    for (const path of svg.querySelectorAll("[data-link]")) {
      path.classList.remove("nominal", "worst", "failed");
      path.setAttribute("stroke", LINK_COLOUR);
      path.setAttribute("stroke-width", "2");
      path.setAttribute("stroke-dasharray", path.dataset.dash);
    }
    for (const group of svg.querySelectorAll("[data-node]")) {
      group.classList.remove("nominal", "worst", "failed");
      const circle = group.querySelector("circle");
      circle.setAttribute("stroke", "#ffffff");
      circle.setAttribute("stroke-width", "2");
    }
    marks.replaceChildren();
  };

  const paint = (route, kind, colour, width, dash) => {
    if (!route) return;
    for (const id of route.links) {
      const path = link(id);
      if (!path) continue;
      path.classList.add(kind);
      path.setAttribute("stroke", colour);
      path.setAttribute("stroke-width", String(width));
      path.setAttribute("stroke-dasharray", dash);
      linksLayer.appendChild(path);  // on top of the other links
    }
    for (const id of route.nodes) {
      const group = node(id);
      if (!group) continue;
      group.classList.add(kind);
      group.querySelector("circle").setAttribute("stroke", colour);
      group.querySelector("circle").setAttribute("stroke-width", "4");
    }
  };

  const cross = (x, y) => {
    el("line", { x1: x - 11, y1: y - 11, x2: x + 11, y2: y + 11, stroke: FAILED, "stroke-width": 4, class: "failed-mark" }, marks);
    el("line", { x1: x - 11, y1: y + 11, x2: x + 11, y2: y - 11, stroke: FAILED, "stroke-width": 4, class: "failed-mark" }, marks);
  };

  const fail = (ids) => {
    const failed = new Set();
    for (const id of ids) for (const member of members[id] || [id]) failed.add(member);
    for (const id of failed) {
      const group = node(id);
      if (group) {
        group.classList.add("failed");
        cross(position[id].x, position[id].y);
        continue;
      }
      const path = link(id);
      if (path) {
        path.classList.add("failed");
        path.setAttribute("stroke", FAILED);
        path.setAttribute("stroke-dasharray", "2 4");
        const middle = path.getPointAtLength(path.getTotalLength() / 2);
        cross(middle.x, middle.y);
      }
    }
  };

  const words = (route) => route.nodes.map((id) => labels[id] || id).join(" → ");

  const highlight = (h) => {
    reset();
    paint(h.nominal, "nominal", NOMINAL, 4, "8 5");
    paint(h.worst, "worst", WORST, 5, "none");
    fail(h.failed);
    const failedWords = h.failed.map((id) => labels[id] || (members[id] ? id + " (group)" : id)).join(" + ");
    const parts = [];
    if (h.nominal) parts.push(`With nothing failed (blue): ${words(h.nominal)}, ${seconds(h.nominal.seconds)}.`);
    else parts.push("No route reaches a recipient even with nothing failed.");
    if (h.failed.length) {
      parts.push(h.worst ? `After ${failedWords} fails (red): ${words(h.worst)}, ${seconds(h.worst.seconds)}.`
        : `After ${failedWords} fails no route is left: the alarm is not delivered.`);
    } else {
      parts.push("No failure makes it slower.");
    }
    caption.textContent = parts.join(" ");
  };

  caption.textContent = `${topology.nodes.length} nodes, ${topology.links.length} links, ${topology.groups.length} shared-risk groups. Choose a result to draw its routes.`;
  for (const row of document.querySelectorAll("tr[data-result]")) {
    const show = () => {
      for (const other of document.querySelectorAll("tr[data-result][aria-current]")) other.removeAttribute("aria-current");
      row.setAttribute("aria-current", "true");
      highlight(JSON.parse(row.dataset.highlight));
      svg.scrollIntoView({ block: "nearest" });
    };
    row.addEventListener("click", show);
  }
  window.wardwatchAlarms = { topology, highlight };  // for debugging
}

// ----------------------------------------------------------------------------------------------------- forms

function status(id, text) { document.getElementById(id).textContent = text; }

function reloadSoon() { setTimeout(() => window.location.reload(), 700); }

function verifyForm(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const k = new FormData(form).get("k") || "1";
    status("verify-status", "Verifying every alarm flow against every failure of up to " + k + " element(s)…");
    try {
      const report = await api("/api/alarms/verification?k=" + encodeURIComponent(k), { method: "POST" });
      status("verify-status", `Verified: ${report.flows} flow(s), ${report.failing} miss their budget. Reloading…`);
      reloadSoon();
    } catch (error) {
      status("verify-status", "Cannot verify: " + error.message);
    }
  });
}

function numberOrNull(text) {
  return text === null || String(text).trim() === "" ? null : Number(text);
}

function prefill(form) {
  // A new version starts from the one it replaces (approved, else the newest draft), so no setting is lost silently.
  const key = `${form.elements.unit.value}/${String(form.elements.alarm_type.value || "").trim()}/${form.elements.priority.value}`;
  const rows = [...document.querySelectorAll("tr[data-key][data-settings]")].filter((row) => row.dataset.key === key);
  const row = rows.find((r) => r.dataset.status === "approved") || rows[0];
  const note = document.getElementById("propose-prefill");
  if (!row) {
    if (note) note.textContent = "";
    return;
  }
  const b = JSON.parse(row.dataset.settings);
  form.elements.max_delivery_s.value = b.max_delivery_s;
  for (const box of form.querySelectorAll('input[name="primary"]')) box.checked = b.primary.includes(box.value);
  for (const box of form.querySelectorAll('input[name="escalation"]')) box.checked = b.escalation.includes(box.value);
  form.elements.escalate_after_s.value = b.escalate_after_s ?? "";
  form.elements.confirmed.checked = Boolean(b.confirmed);
  form.elements.heartbeat_interval_s.value = b.heartbeat_interval_s ?? "";
  form.elements.heartbeat_misses.value = b.heartbeat_misses ?? 3;
  form.elements.rationale.value = b.rationale || "";
  if (note) note.textContent = `Filled in from version ${b.version} (${row.dataset.status}): change what should differ.`;
}

function proposeForm(form) {
  for (const name of ["unit", "alarm_type", "priority"]) {
    form.elements[name].addEventListener("change", () => prefill(form));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      unit: data.get("unit"), alarm_type: String(data.get("alarm_type") || "").trim(), priority: data.get("priority"),
      max_delivery_s: Number(data.get("max_delivery_s")), primary: data.getAll("primary"),
      escalation: data.getAll("escalation"), escalate_after_s: numberOrNull(data.get("escalate_after_s")),
      confirmed: data.get("confirmed") === "true", heartbeat_interval_s: numberOrNull(data.get("heartbeat_interval_s")),
      heartbeat_misses: Number(data.get("heartbeat_misses") || 3), rationale: String(data.get("rationale") || ""),
    };
    if (!body.primary.length) {
      status("propose-status", "Choose at least one primary recipient.");
      return;
    }
    status("propose-status", "Proposing…");
    try {
      const budget = await api("/api/alarms/budgets", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      status("propose-status", `Draft version ${budget.version} of ${budget.key} proposed; approve it to put it in force. Reloading…`);
      reloadSoon();
    } catch (error) {
      status("propose-status", "Refused: " + error.message);
    }
  });
}

function approveButton(button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    status("approve-status", "Approving and verifying again…");
    try {
      const budget = await api("/api/alarms/budgets/" + encodeURIComponent(button.dataset.approve) + "/approve", { method: "POST" });
      const check = budget.verification ? ` Verified again: ${budget.verification.failing} of ${budget.verification.flows} flow(s) miss.` : "";
      status("approve-status", `${budget.key} version ${budget.version} approved by ${budget.approved_by}.${check} Reloading…`);
      reloadSoon();
    } catch (error) {
      button.disabled = false;
      status("approve-status", "Refused: " + error.message);
    }
  });
}

function uploadForm(form) {
  const kind = form.dataset.alarmUpload;
  const where = kind + "-status";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status(where, "Importing…");
    try {
      const path = kind === "topology" ? "/api/alarms/topology" : "/api/alarms/deliveries";
      const report = await api(path, { method: "POST", body: new FormData(form) });
      status(where, kind === "topology"
        ? `${report.changed ? "Imported as version " + report.version : "Unchanged"}: ${report.nodes} nodes, ${report.links} links, ${report.sources} sources. Reloading…`
        : `Imported ${report.records} record(s), ${report.new} new. Reloading…`);
      reloadSoon();
    } catch (error) {
      status(where, "Refused: " + error.message);
    }
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  const verify = document.querySelector("form[data-alarm-verify]");
  if (verify) verifyForm(verify);
  const propose = document.querySelector("form[data-budget-propose]");
  if (propose) proposeForm(propose);
  for (const button of document.querySelectorAll("button[data-approve]")) approveButton(button);
  for (const form of document.querySelectorAll("form[data-alarm-upload]")) uploadForm(form);
  const svg = document.getElementById("alarm-graph");
  if (!svg) return;
  try {
    const unit = svg.dataset.unit;
    graphView(svg, await api("/api/alarms/topology" + (unit ? "?unit=" + encodeURIComponent(unit) : "")));
  } catch (error) {
    status("graph-caption", "Cannot draw the topology: " + error.message);
  }
});
