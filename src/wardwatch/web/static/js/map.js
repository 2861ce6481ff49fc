// The network map: observed flows from /api/network-map drawn with the vendored Cytoscape.js.
// Two views: zones (departments; the overview) and devices (one zone and its peers, or everything).
"use strict";

const CRITICAL = { "life-sustaining": "#b42318", "life-supporting": "#d9691e", "therapeutic": "#c99a06" };
const STYLE = [
  { selector: "node.endpoint", style: { "background-color": (n) => CRITICAL[n.data("criticality")] || "#0b5c7a", label: "data(label)", "font-size": 9, width: 16, height: 16, color: "#1c2530", "text-margin-y": -2 } },
  { selector: "node.zone", style: { "background-color": "#eef2f6", "border-color": "#8797a8", "border-width": 1, label: "data(label)", "text-valign": "top", "font-size": 12, "font-weight": 600, color: "#1c2530" } },
  { selector: "node.zone.overview", style: { "background-color": "#0b5c7a", "text-valign": "center", "text-halign": "center", color: "#ffffff", "text-outline-color": "#0b5c7a", "text-outline-width": 2, width: "data(size)", height: "data(size)", shape: "round-rectangle" } },
  { selector: "edge", style: { width: "data(width)", "line-color": "#9fb3c8", "curve-style": "bezier", "target-arrow-shape": "triangle", "target-arrow-color": "#9fb3c8", "arrow-scale": 0.7 } },
  { selector: ".faded", style: { opacity: 0.12 } },
  { selector: "node:selected", style: { "border-width": 3, "border-color": "#f0a500" } },
];

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
    edges[key] = edges[key] || { id: key, source: a, target: b, bytes: 0 };
    edges[key].bytes += e.bytes;
  }
  return [
    ...graph.nodes.filter((n) => n.zone).map((n) => ({
      data: { id: n.id, label: n.label + " (" + (counts[n.id] || 0) + ")", size: 30 + 6 * Math.sqrt(counts[n.id] || 1) },
      classes: "zone overview",
    })),
    ...Object.values(edges).map((e) => ({ data: { ...e, width: width(e.bytes) } })),
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
    ...edges.map((e, i) => ({ data: { id: "e" + i, ...e, width: width(e.bytes) } })),
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
    cy.layout({ name: "cose", animate: false, padding: 24, nodeRepulsion: () => 12000, idealEdgeLength: () => 90, nodeDimensionsIncludeLabels: true }).run();
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.mapView === view));
    const endpoints = graph.nodes.filter((n) => !n.zone).length;
    status.textContent = (view === "zones"
      ? "Zones view: " + cy.nodes().length + " zones. Double-click a zone to see its devices and their peers."
      : "Devices view" + (zone ? " of " + labels[zone] : "") + ": " + cy.nodes(".endpoint").length + " endpoints.") +
      " " + endpoints + " endpoints, " + graph.edges.length + " connections from the " + graph.flows_shown + " largest flows.";
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
    const text = labels[edge.source] + " → " + labels[edge.target] + " (" + edge.services.join(", ") + ")";
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
