// The platform's JSON APIs, same origin, with the signed-in user's bearer token.
const KEY = "cityloop.session";

export const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch { return null; }
  },
  set(value) { sessionStorage.setItem(KEY, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.reason || (typeof body?.detail === "string" ? body.detail : `HTTP ${status}`));
    this.status = status;
    this.code = e.code;
    this.field = e.field;
  }
}

export async function signIn(username, password) {
  const body = new URLSearchParams({ username, password, grant_type: "password" });
  const r = await fetch("/v1/auth/token", { method: "POST", body });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data);
  const claims = JSON.parse(atob(data.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  const s = { token: data.access_token, role: data.role, unit: data.unit, name: claims.name || claims.sub,
              user: claims.sub, exp: claims.exp };
  session.set(s);
  return s;
}

let onUnauthorized = () => {};
export function whenSignedOut(fn) { onUnauthorized = fn; }

export async function api(path, { method = "GET", json, form, headers = {} } = {}) {
  const s = session.get();
  const h = { ...headers };
  if (s) h.Authorization = `Bearer ${s.token}`;
  let body;
  if (json !== undefined) { h["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form !== undefined) body = form;
  const r = await fetch(path, { method, headers: h, body });
  if (r.status === 401) { session.clear(); onUnauthorized(); }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: { reason: text } }; }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

export const qs = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    for (const one of Array.isArray(v) ? v : [v]) u.append(k, one);
  }
  const s = u.toString();
  return s ? `?${s}` : "";
};

// Photos the platform stores are served only to staff: fetch with the token and show as a blob URL. A
// channel's own photo link (e.g. WeChat's) is elsewhere: it is never fetched with the token.
export const isLocal = (uri) => uri.startsWith("/") && !uri.startsWith("//");
const blobs = new Map();
export async function photoUrl(uri) {
  if (!isLocal(uri)) throw new Error("not stored by the platform");
  if (!blobs.has(uri)) {
    const s = session.get();
    const r = await fetch(uri, { headers: s ? { Authorization: `Bearer ${s.token}` } : {} });
    if (!r.ok) throw new ApiError(r.status, null);
    blobs.set(uri, URL.createObjectURL(await r.blob()));
  }
  return blobs.get(uri);
}

let reference = null;
export async function ref() {
  if (!reference) {
    const r = await fetch("/console/reference.json");
    reference = await r.json();
    reference.deptByCode = Object.fromEntries(reference.departments.map((d) => [d.code, d]));
    reference.catById = Object.fromEntries(reference.categories.map((c) => [c.id, c]));
  }
  return reference;
}

// The city's clock can run faster than the wall clock (demo): "today" is the city's today.
export async function cityNow() {
  const c = await fetch("/v1/clock").then((r) => r.json());
  return new Date(c.now);
}
