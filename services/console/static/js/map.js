// Maps drawn from the district's own GeoJSON with Leaflet (vendored, global `L`): no tile server needed.
const layers = {};
async function geo(name) {
  if (!layers[name]) layers[name] = fetch(`/console/geo/${name}.geojson`).then((r) => r.json());
  return layers[name];
}

// The view is set before any layer is added: Leaflet's canvas renderer needs one to draw into.
function baseMap(el, bounds, opts = {}) {
  const map = L.map(el, { preferCanvas: true, zoomSnap: 0.25, attributionControl: false, ...opts });
  map.fitBounds(bounds);
  return map;
}

const STREET = { color: "#334155", weight: 2, fill: false };
const COMMUNITY = { color: "#64748b", weight: 1, dashArray: "3 3", fill: false };

export function cellStyle(count) {
  if (!count || (!count.open && !count.overdue)) return { color: "#cbd5e1", weight: 0.5, fillColor: "#f1f5f9", fillOpacity: 0.3 };
  if (count.overdue) return { color: "#7f1d1d", weight: 2, fillColor: "#dc2626", fillOpacity: Math.min(0.85, 0.35 + 0.1 * count.overdue) };
  return { color: "#92400e", weight: 2, fillColor: "#f59e0b", fillOpacity: Math.min(0.8, 0.25 + 0.08 * count.open) };
}

export async function districtMap(el, counts, onCell) {
  const [streets, communities, cells] = await Promise.all([geo("streets"), geo("communities"), geo("cells")]);
  if (!el.isConnected) return null;  // the user moved on while the layers loaded
  const map = baseMap(el, L.geoJSON(streets).getBounds());
  const cellLayer = L.geoJSON(cells, {
    style: (f) => cellStyle(counts[f.properties.code]),
    onEachFeature: (f, layer) => {
      const c = counts[f.properties.code];
      layer.bindTooltip(`${f.properties.code}${c ? ` · ${c.open} / ${c.overdue}` : ""}`, { sticky: true });
      layer.on("click", () => onCell(f.properties));
    },
  }).addTo(map);
  const communityLayer = L.geoJSON(communities, { style: COMMUNITY, interactive: false,
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name, { permanent: false }) }).addTo(map);
  const streetLayer = L.geoJSON(streets, { style: STREET, interactive: false }).addTo(map);
  streets.features.forEach((f) => {
    const center = L.geoJSON(f).getBounds().getCenter();
    L.marker(center, { interactive: false, icon: L.divIcon({ className: "street-label", html: f.properties.name, iconSize: null }) }).addTo(map);
  });
  L.control.layers(null, { "街道 Streets": streetLayer, "社区 Communities": communityLayer, "网格 Cells": cellLayer }, { collapsed: false }).addTo(map);
  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    const d = L.DomUtil.create("div", "legend");
    d.innerHTML = '<i style="background:#f1f5f9"></i> 0 &nbsp; <i style="background:#f59e0b"></i> 在办 open &nbsp; <i style="background:#dc2626"></i> 超期 overdue';
    return d;
  };
  legend.addTo(map);
  return map;
}

export async function caseMap(el, c) {
  const [streets, communities] = await Promise.all([geo("streets"), geo("communities")]);
  if (!el.isConnected) return;
  const point = c.location && c.location.lat !== undefined ? [c.location.lat, c.location.lon] : null;
  const bounds = point ? L.latLng(point).toBounds(600) : L.geoJSON(streets).getBounds();
  const map = baseMap(el, bounds);
  L.geoJSON(communities, { style: COMMUNITY, interactive: false }).addTo(map);
  L.geoJSON(streets, { style: STREET, interactive: false }).addTo(map);
  if (point) {
    L.circleMarker(point, { radius: 8, color: "#1d4ed8", fillColor: "#3b82f6", fillOpacity: 0.9 }).addTo(map).bindTooltip(c.address || c.case_no);
  }
}
