// Network analysis page: attack paths and the worm's spread drawn with the vendored Cytoscape.js (only the hosts
// involved, coloured by zone), the spread player, the policy simulation and the model import.  Uses app.js's api().
"use strict";

const PALETTE = ["#0b5c7a", "#7a3e9d", "#1b7a3a", "#b26b00", "#2f4fbf", "#8a5a44", "#00838f", "#9e2a6b",
  "#546e1a", "#5d6b7a", "#c2410c", "#3f51b5"];
const FALLEN = ["#7f1d1d", "#b42318", "#d92d20", "#f04438", "#f97066"];

function zoneColours(zones) {
  const colours = {};
  [...new Set(zones.map((z) => z || "(no zone)"))].sort().forEach((z, i) => { colours[z] = PALETTE[i % PALETTE.length]; });
  return colours;
}

function legend(colours) {
  const list = document.getElementById("zone-legend");
  list.replaceChildren();
  for (const [zone, colour] of Object.entries(colours)) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch dot";
    swatch.style.backgroundColor = colour;  // CSSOM, allowed by the style-src CSP (no inline style attribute)
    li.append(swatch, document.createTextNode(zone));
    list.appendChild(li);
  }
}

function hostLabel(host, fallback) {
  return (host && (host.name || host.address)) || fallback;
}

const BASE_STYLE = [
  { selector: "node", style: { label: "data(label)", "font-size": 11, "text-valign": "bottom", "text-margin-y": 3, color: "#1c2530", "text-background-color": "#ffffff", "text-background-opacity": 0.85, "text-background-padding": 2, width: 22, height: 22, "background-color": "data(colour)", "border-color": "data(colour)", "border-width": 3 } },
  { selector: "node.entry", style: { shape: "diamond", width: 34, height: 34 } },
  { selector: "node.zone", style: { "background-color": "#f5f7fa", "background-opacity": 1, "border-width": 2, "border-color": "data(colour)", "text-valign": "top", "font-size": 13, "font-weight": 600, padding: 16 } },
  { selector: "node.host.later", style: { "background-color": "#e3e8ee" } },
  { selector: "node.host.fallen", style: { "background-color": "data(fallen)" } },
  { selector: "node.host.now", style: { "border-color": "#f0a500", "border-width": 5 } },
  { selector: "edge", style: { width: 2, "line-color": "#9fb3c8", "target-arrow-color": "#9fb3c8", "target-arrow-shape": "triangle", "curve-style": "bezier", label: "data(label)", "font-size": 10, "text-rotation": "autorotate", "text-background-color": "#ffffff", "text-background-opacity": 0.9, "text-background-padding": 2 } },
  { selector: ".faded", style: { opacity: 0.15 } },
];

function graph(elements) {
  const cy = window.cytoscape({ container: document.getElementById("net-graph"), style: BASE_STYLE, elements, wheelSensitivity: 0.2 });
  cy.on("tap", "node", (event) => {
    cy.elements().addClass("faded");
    event.target.closedNeighborhood().union(event.target.parents()).removeClass("faded");
  });
  cy.on("tap", (event) => { if (event.target === cy) cy.elements().removeClass("faded"); });
  window.wardwatchNetwork = { cy };  // for the browser tests and for debugging
  return cy;
}

function status(id, text) { document.getElementById(id).textContent = text; }

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) tr.appendChild(cell(c === null || c === undefined ? null : String(c)));
  return tr;
}

function emptyRow(body, columns, text) {
  const tr = document.createElement("tr");
  const td = cell(text);
  td.colSpan = columns;
  tr.appendChild(td);
  body.appendChild(tr);
}

// ------------------------------------------------------------------------------------------------ attack paths

function pathsView(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const params = new URLSearchParams();
    for (const key of ["from", "to", "top"]) if (data.get(key)) params.set(key, data.get(key));
    status("paths-status", "Searching…");
    let report;
    try {
      report = await api("/api/network/paths?" + params);
    } catch (error) {
      status("paths-status", "Cannot find paths: " + error.message);
      return;
    }
    const list = document.getElementById("paths-list");
    list.replaceChildren();
    document.getElementById("paths-result").hidden = report.paths.length === 0;
    if (!report.paths.length) {
      status("paths-status", "No attack path from " + (data.get("from") || "the entry zones") + " to " + (data.get("to") || "any device") + ".");
      return;
    }
    const zones = [];
    for (const p of report.paths) {
      zones.push(p.entry);
      for (const h of p.hops) if (h.to_host) zones.push(h.to_host.zone);
    }
    const colours = zoneColours(zones);
    const nodes = {}, edges = {};
    report.paths.forEach((p, index) => {
      const li = document.createElement("li");
      li.dataset.testid = "path";
      const head = document.createElement("p");
      head.textContent = p.explanation[0];
      const hops = document.createElement("ol");
      let previous = "entry:" + p.entry;
      nodes[previous] = { data: { id: previous, label: p.entry + " (entry)", colour: colours[p.entry] }, classes: "entry" };
      for (const h of p.hops) {
        const item = document.createElement("li");
        item.textContent = h.explanation;
        hops.appendChild(item);
        const address = h.to_host ? h.to_host.address : h.to;
        const id = "h:" + address;
        const zone = (h.to_host && h.to_host.zone) || "(no zone)";
        nodes[id] = nodes[id] || { data: { id, label: hostLabel(h.to_host, address) + "\n" + zone, colour: colours[zone], device_id: h.to_host && h.to_host.device_id }, classes: "host" };
        const label = h.service + " · " + h.exploit.id;
        const key = previous + ">" + id + ">" + label;
        edges[key] = edges[key] || { data: { id: "e" + Object.keys(edges).length, source: previous, target: id, label } };
        previous = id;
      }
      li.append(head, hops);
      li.id = "path-" + (index + 1);
      list.appendChild(li);
    });
    const cy = graph([...Object.values(nodes), ...Object.values(edges)]);
    cy.style().selector("node").style({ "text-wrap": "wrap" }).update();
    cy.layout({ name: "breadthfirst", directed: true, roots: cy.nodes(".entry"), spacingFactor: 1.1, padding: 24 }).run();
    cy.fit(undefined, 24);
    cy.on("dbltap", "node", (e) => { if (e.target.data("device_id")) window.location.href = "/devices/" + e.target.data("device_id"); });
    legend(colours);
    status("paths-status", report.paths.length + " attack path(s), best first; the graph shows every hop, the list says each in words.");
  });
}

// ------------------------------------------------------------------------------------------------ blast radius

function layoutByZone(cy) {
  // Each zone's hosts in a grid of their own (in the order they fall), zones side by side in rows: no overlap.
  const cellW = 120, cellH = 64, gap = 60, rowWidth = Math.max(900, cy.width() * 1.2);
  let x = 0, y = 0, rowHeight = 0;
  cy.nodes(".zone").sort((a, b) => b.children().length - a.children().length).forEach((z) => {
    const kids = z.children().sort((a, b) => a.data("step") - b.data("step"));
    const cols = Math.max(1, Math.ceil(Math.sqrt(kids.length * 1.6)));
    const w = cols * cellW, h = Math.ceil(kids.length / cols) * cellH;
    if (x > 0 && x + w > rowWidth) { x = 0; y += rowHeight + gap; rowHeight = 0; }
    kids.forEach((n, i) => n.position({ x: x + (i % cols) * cellW + cellW / 2, y: y + Math.floor(i / cols) * cellH + cellH / 2 }));
    x += w + gap;
    rowHeight = Math.max(rowHeight, h);
  });
}

function blastView(form) {
  const counter = document.getElementById("step-counter");
  const play = form.parentElement.querySelector("[data-step=play]");
  let report = null, cy = null, current = 0, timer = null;

  const show = (k) => {
    const last = report.steps.length - 1;
    current = Math.max(0, Math.min(last, k));
    cy.batch(() => cy.nodes(".host").forEach((n) => {
      const step = n.data("step");
      n.toggleClass("fallen", step <= current).toggleClass("later", step > current).toggleClass("now", step === current);
    }));
    const s = report.steps[current];
    counter.textContent = "Step " + current + " of " + last + " · " + s.minutes + " min · " + s.cumulative.toLocaleString() + " host(s) infected";
    counter.dataset.step = String(current);
  };
  const stop = () => { clearInterval(timer); timer = null; play.setAttribute("aria-pressed", "false"); play.textContent = "Play"; };

  form.parentElement.querySelector("[data-step=next]").addEventListener("click", () => { stop(); show(current + 1); });
  form.parentElement.querySelector("[data-step=back]").addEventListener("click", () => { stop(); show(current - 1); });
  form.parentElement.querySelector("[data-step=reset]").addEventListener("click", () => { stop(); show(0); });
  play.addEventListener("click", () => {
    if (timer) { stop(); return; }
    if (current >= report.steps.length - 1) show(0);
    play.setAttribute("aria-pressed", "true");
    play.textContent = "Pause";
    timer = setInterval(() => { if (current >= report.steps.length - 1) stop(); else show(current + 1); }, 900);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    stop();
    const data = new FormData(form);
    const params = new URLSearchParams();
    for (const key of ["seed", "steps", "rng_seed"]) if (data.get(key)) params.set(key, String(data.get(key)).trim());
    for (const key of ["worst_case", "block_445", "disable_smbv1"]) if (data.get(key)) params.set(key, "true");
    status("blast-status", "Simulating…");
    try {
      report = await api("/api/network/blast-radius?" + params);
    } catch (error) {
      status("blast-status", "Cannot simulate: " + error.message);
      document.getElementById("blast-result").hidden = true;
      return;
    }
    const hosts = [];
    for (const s of report.steps) for (const h of s.infected) hosts.push([s.step, h]);
    const shown = hosts.slice(0, 400);  // a readable graph; the tables below count everything
    const colours = zoneColours(shown.map(([, h]) => h.zone));
    const zones = {};
    const nodes = shown.map(([step, h]) => {
      const zone = h.zone || "(no zone)";
      zones[zone] = { data: { id: "z:" + zone, label: zone, colour: colours[zone] }, classes: "zone" };
      return { data: { id: "h:" + h.address, parent: "z:" + zone, label: hostLabel(h, h.address), colour: colours[zone], step, fallen: FALLEN[Math.min(step, FALLEN.length - 1)], device_id: h.device_id }, classes: "host" };
    });
    document.getElementById("blast-result").hidden = false;
    if (cy) cy.destroy();
    cy = graph([...Object.values(zones), ...nodes]);
    layoutByZone(cy);
    cy.fit(undefined, 24);
    cy.on("dbltap", "node.host", (e) => { if (e.target.data("device_id")) window.location.href = "/devices/" + e.target.data("device_id"); });
    legend(colours);
    document.getElementById("swatch-fallen").style.backgroundColor = FALLEN[1];
    document.getElementById("swatch-later").style.backgroundColor = "#e3e8ee";
    fillBlastTables(report);
    show(0);
    status("blast-status", "From " + report.seed + ": " + report.infected.toLocaleString() + " of " + report.vulnerable.toLocaleString() +
      " vulnerable host(s) infected in " + (report.steps.length - 1) + " step(s)" + (report.saturated ? " (nothing more is reachable)" : "") +
      (hosts.length > shown.length ? "; the graph shows the first " + shown.length : "") + ". Use Step or Play to watch it spread.");
  });
}

function fillBlastTables(report) {
  const functions = document.querySelector("[data-testid=functions-stopped] tbody");
  functions.replaceChildren();
  for (const f of report.functions_stopped) functions.appendChild(row([f.function, f.infected, f.devices, f.first_minutes === null ? null : f.first_minutes + " min"]));
  if (!report.functions_stopped.length) emptyRow(functions, 4, "No clinical function stops.");
  const zones = document.querySelector("[data-testid=zones-hit] tbody");
  zones.replaceChildren();
  const hit = report.by_zone.filter((z) => z.infected);
  for (const z of hit) zones.appendChild(row([z.zone || "(no zone)", z.infected, z.vulnerable, z.hosts]));
  if (!hit.length) emptyRow(zones, 4, "No zone hit.");
  const steps = document.querySelector("[data-testid=spread-steps] tbody");
  steps.replaceChildren();
  for (const s of report.steps) {
    const names = s.infected.slice(0, 6).map((h) => hostLabel(h, h.address)).join(", ") + (s.infected.length > 6 ? " …" : "");
    steps.appendChild(row([s.step, s.minutes, s.infected.length, s.cumulative, names]));
  }
}

// --------------------------------------------------------------------------------------- simulation and import

function simulateView(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status("sim-status", "Replaying the observed traffic through the proposed policy…");
    let report;
    try {
      report = await api("/api/network/simulate", { method: "POST", body: new FormData(form) });
    } catch (error) {
      status("sim-status", "Cannot simulate: " + error.message);
      document.getElementById("sim-result").hidden = true;
      return;
    }
    const body = document.querySelector("[data-testid=broken-flows] tbody");
    body.replaceChildren();
    const broken = [...report.broken].sort((a, b) => Boolean(b.clinical) - Boolean(a.clinical));
    for (const f of broken.slice(0, 300)) {
      const tr = row([f.client, f.server, f.protocol + "/" + f.port + (f.application ? " (" + f.application + ")" : ""),
        (f.from_zone || "–") + " → " + (f.to_zone || "–"), f.clinical, (f.rule_now || "default") + " → " + (f.rule_proposed || "default")]);
      if (f.clinical) tr.className = "expired";
      body.appendChild(tr);
    }
    if (!broken.length) emptyRow(body, 6, "Nothing observed would break.");
    document.querySelector("[data-testid=sim-paths]").textContent = "Attack paths: " + report.paths_before + " before → " +
      report.paths_after + " after (" + report.paths_cut + " cut). " + report.newly_allowed.length + " observed service(s) newly allowed.";
    document.getElementById("sim-result").hidden = false;
    status("sim-status", report.broken.length + " observed service(s) would break, " + report.broken_clinical + " of them legitimate clinical flows. Nothing was stored.");
  });
}

function importView(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status("import-status", "Importing…");
    try {
      const report = await api("/api/network/model", { method: "POST", body: new FormData(form) });
      status("import-status", (report.changed ? "Imported: " : "Unchanged: ") + report.zones + " zones, " + report.rules + " rules" + (report.bindings ? ", " + report.bindings + " ACL bindings" : "") + (report.notes && report.notes.length ? " (" + report.notes.length + " notes)" : "") + ". Reloading…");
      setTimeout(() => window.location.reload(), 800);
    } catch (error) {
      status("import-status", "Refused: " + error.message);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const views = [["form[data-paths]", pathsView], ["form[data-blast]", blastView], ["form[data-simulate]", simulateView],
    ["form[data-network-import]", importView]];
  for (const [selector, start] of views) {
    const form = document.querySelector(selector);
    if (form) start(form);
  }
});
