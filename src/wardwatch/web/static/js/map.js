// The network map: observed flows from /api/network-map drawn with the vendored Cytoscape.js.
// Two views: zones (departments; the overview) and devices (one zone and its peers, or everything).
"use strict";

const CRITICAL = { "life-sustaining": "#b42318", "life-supporting": "#d9691e", "therapeutic": "#c99a06" };
// Labels are drawn at ≥ 12px on screen even when the fitted graph is zoomed out (set by show(); issue 6).
let labelScale = 1;
const STYLE = [
  { selector: "node.endpoint", style: { "background-color": (n) => CRITICAL[n.data("criticality")] || "#0b5c7a", label: "data(label)", "font-size": () => 12 * labelScale, "min-zoomed-font-size": 9, width: 18, height: 18, color: "#1c2530", "text-valign": "bottom", "text-margin-y": 3, "text-background-color": "#ffffff", "text-background-opacity": 0.85, "text-background-padding": 2, "text-background-shape": "roundrectangle" } },
  { selector: "node.zone", style: { "background-color": "#eef2f6", "border-color": "#8797a8", "border-width": 1, label: "data(label)", "text-valign": "top", "font-size": 14, "font-weight": 600, color: "#1c2530", padding: 18 } },
  { selector: "node.zone.overview", style: { "background-color": "#0b5c7a", "border-width": 0, "text-valign": "bottom", "text-halign": "center", "text-margin-y": 4, color: "#1c2530", "font-size": () => 13 * labelScale, "text-background-color": "#ffffff", "text-background-opacity": 0.85, "text-background-padding": 2, "text-background-shape": "roundrectangle", width: "data(size)", height: "data(size)", shape: "round-rectangle" } },
  { selector: "edge", style: { width: "data(width)", "line-color": "#9fb3c8", "curve-style": "bezier", "target-arrow-shape": "triangle", "target-arrow-color": "#9fb3c8", "arrow-scale": 0.9 } },
  { selector: "edge.risky", style: { "line-color": "#d92d20", "target-arrow-color": "#d92d20", "line-style": "dashed", "z-index": 10 } },
  { selector: ".faded", style: { opacity: 0.12 } },
  { selector: "node:selected", style: { "border-width": 3, "border-color": "#f0a500" } },
];

// Cleartext or legacy services worth a second look (name from the flow's protocol, else the well-known port).
const RISKY_NAMES = /^(telnet|ftp|tftp|smb|cifs|netbios|hl7|dicom)\b/i;
const RISKY_PORTS = new Set([21, 23, 69, 104, 139, 445, 2575, 11112]);
const TLS_PORTS = new Set([443, 2762, 6514]);  // DICOM/HL7/syslog over TLS are not cleartext

function riskyService(service) {
  const [name, port] = String(service).split("/");
  const number = Number(port);
  if (TLS_PORTS.has(number)) return false;
  return RISKY_NAMES.test(name) || RISKY_PORTS.has(number);
}

function isRisky(edge) { return (edge.services || []).some(riskyService); }

function width(bytes) { return Math.max(1, Math.min(10, Math.log10(bytes + 1) - 2)); }

function zoneView(graph) {
  const zoneOf = Object.fromEntries(graph.nodes.filter((n) => !n.zone).map((n) => [n.id, n.parent]));
  const counts = {};
  for (const zone of Object.values(zoneOf)) counts[zone] = (counts[zone] || 0) + 1;
  const edges = {};
  for (const e of graph.edges) {
    const a = zoneOf[e.source], b = zoneOf[e.target];
    if (!a || !b || a === b) continue;
    const key = a + "→" + b;
    edges[key] = edges[key] || { id: key, source: a, target: b, bytes: 0, risky: false };
    edges[key].bytes += e.bytes;
    edges[key].risky = edges[key].risky || isRisky(e);
  }
  return [
    ...graph.nodes.filter((n) => n.zone).map((n) => ({
      data: { id: n.id, label: n.label + " (" + (counts[n.id] || 0) + ")", size: 30 + 6 * Math.sqrt(counts[n.id] || 1) },
      classes: "zone overview",
    })),
    ...Object.values(edges).map((e) => ({ data: { ...e, width: width(e.bytes) }, classes: e.risky ? "risky" : "" })),
  ];
}

function deviceView(graph, zone) {
  let edges = graph.edges;
  let keep = null;
  if (zone) {
    const inside = new Set(graph.nodes.filter((n) => n.parent === zone).map((n) => n.id));
    edges = edges.filter((e) => inside.has(e.source) || inside.has(e.target));
    keep = new Set([...inside, ...edges.flatMap((e) => [e.source, e.target])]);
  }
  const endpoints = graph.nodes.filter((n) => !n.zone && (!keep || keep.has(n.id)));
  // One zone: its devices and their peers boxed by zone.  Everything: a flat graph (boxes around ~25 zones
  // with hub-like "external" peers make the layout unreadable).
  const zones = zone ? new Set(endpoints.map((n) => n.parent)) : new Set();
  return [
    ...graph.nodes.filter((n) => n.zone && zones.has(n.id)).map((n) => ({ data: { id: n.id, label: n.label }, classes: "zone" })),
    ...endpoints.map((n) => ({ data: { ...n, parent: zone ? n.parent : undefined }, classes: "endpoint" })),
    ...edges.map((e, i) => ({ data: { id: "e" + i, ...e, width: width(e.bytes) }, classes: isRisky(e) ? "risky" : "" })),
  ];
}

document.addEventListener("DOMContentLoaded", async () => {
  const status = document.getElementById("map-status");
  const list = document.getElementById("map-list");
  const buttons = document.querySelectorAll("[data-map-view]");
  let graph;
  try {
    const response = await fetch("/api/network-map", { credentials: "same-origin" });
    if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
    graph = await response.json();
  } catch (error) {
    status.textContent = "Cannot load the map: " + error.message;
    return;
  }
  const labels = Object.fromEntries(graph.nodes.map((n) => [n.id, n.label]));
  const cy = window.cytoscape({ container: document.getElementById("map"), style: STYLE, wheelSensitivity: 0.2 });

  window.wardwatchMap = { cy, show };  // for the browser tests and for debugging

  function show(view, zone) {
    cy.elements().remove();
    cy.add(view === "zones" ? zoneView(graph) : deviceView(graph, zone));
    if (cy.nodes(".zone").not(".overview").length) layoutZones(zone);
    else {
      const repulsion = view === "zones" ? 400000 : 12000;
      cy.layout({ name: "cose", animate: false, padding: 24, nodeRepulsion: () => repulsion, nodeOverlap: 40, idealEdgeLength: () => (view === "zones" ? 140 : 90), nodeDimensionsIncludeLabels: true, componentSpacing: 120 }).run();
      stretchToWidth();
    }
    labelScale = 1;
    cy.fit(undefined, 24);
    // A few dozen nodes: grow labels to stay readable at the fitted zoom.  All 180 devices: keep them small
    // (hidden until the user zooms in) or they would cover each other.
    if (view === "zones" || zone) {
      labelScale = Math.min(3, Math.max(1, 1 / cy.zoom()));
      cy.style().update();
      cy.fit(undefined, 24);
    }
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.mapView === view));
    const endpoints = graph.nodes.filter((n) => !n.zone).length;
    status.textContent = (view === "zones"
      ? "Zones view: " + cy.nodes().length + " zones. Double-click a zone to see its devices and their peers."
      : "Devices view" + (zone ? " of " + labels[zone] : "") + ": " + cy.nodes(".endpoint").length + " endpoints" + (zone ? "." : "; zoom in to read the labels.")) +
      " " + endpoints + " endpoints, " + graph.edges.length + " connections from the " + graph.flows_shown + " largest flows.";
  }

  // cose packs a graph into a disc; the container is wide, so spread x to its aspect ratio (at most 2.5x).
  function stretchToWidth() {
    const box = cy.nodes().boundingBox();
    if (!box.w || !box.h) return;
    const factor = Math.min(2.5, (cy.width() / cy.height()) / (box.w / box.h));
    if (factor <= 1.05) return;
    const mid = box.x1 + box.w / 2;
    cy.nodes().forEach((n) => { if (!n.isParent()) n.position("x", mid + (n.position("x") - mid) * factor); });
  }

  // Boxed zones: each zone's devices in a grid of their own, the zones side by side in rows, so the compound
  // boxes never overlap (cose lets them; see issue 6).  The zone being looked at comes first.
  function layoutZones(focus) {
    const zones = cy.nodes(".zone").sort((a, b) => (b.id() === focus) - (a.id() === focus) || b.children().length - a.children().length);
    const cellW = 130, cellH = 70, gap = 70, rowWidth = Math.max(900, cy.width() * 1.2);
    let x = 0, y = 0, rowHeight = 0;
    zones.forEach((z) => {
      const kids = z.children();
      const cols = Math.max(1, Math.ceil(Math.sqrt(kids.length * 1.6)));
      const rows = Math.ceil(kids.length / cols);
      const w = cols * cellW, h = rows * cellH;
      if (x > 0 && x + w > rowWidth) { x = 0; y += rowHeight + gap; rowHeight = 0; }
      kids.forEach((n, i) => { n.position({ x: x + (i % cols) * cellW + cellW / 2, y: y + Math.floor(i / cols) * cellH + cellH / 2 }); });
      x += w + gap;
      rowHeight = Math.max(rowHeight, h);
    });
  }

  cy.on("tap", "node", (event) => {
    const near = event.target.closedNeighborhood();
    cy.elements().addClass("faded");
    near.removeClass("faded");
    near.parents().removeClass("faded");
  });
  cy.on("tap", (event) => { if (event.target === cy) cy.elements().removeClass("faded"); });
  cy.on("dbltap", "node", (event) => {
    const node = event.target;
    if (node.hasClass("overview")) show("devices", node.id());
    else if (node.data("device_id")) window.location.href = "/devices/" + node.data("device_id");
  });
  for (const b of buttons) b.addEventListener("click", () => show(b.dataset.mapView));

  for (const edge of graph.edges) {
    const li = document.createElement("li");
    const target = graph.nodes.find((n) => n.id === edge.target);
    const text = labels[edge.source] + " → " + labels[edge.target] + " (" + edge.services.join(", ") + ")" +
      (isRisky(edge) ? " — cleartext/legacy service" : "");
    if (target && target.device_id) {
      const a = document.createElement("a");
      a.href = "/devices/" + target.device_id;
      a.textContent = text;
      li.appendChild(a);
    } else {
      li.textContent = text;
    }
    list.appendChild(li);
  }
  show("zones");
});
